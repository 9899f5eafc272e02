/* The training commands' clean stop on SIGINT / SIGTERM (commands.h). */
#include <signal.h>
#include <string.h>

#include "commands.h"

volatile sig_atomic_t cli_stop_requested = 0;

static void on_stop(int sig) {
    (void)sig;
    cli_stop_requested = 1;
}

void cli_catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    /* Caught once: a second signal kills a run that does not stop. */
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
