/* PLACEHOLDER: being written; replaced before this lands. */
#include <stdio.h>
#include "commands.h"
int cmd_world(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "vidit world: not built yet\n");
    return 1;
}
