/* The subcommands of build/vidit. Each lives in its own tools/cmd_*.c, takes
 * the arguments after its name and returns the process exit status. */
#ifndef VD_TOOLS_COMMANDS_H
#define VD_TOOLS_COMMANDS_H

int cmd_world(int argc, char **argv); /* tools/cmd_world.c */
int cmd_eval(int argc, char **argv);  /* tools/cmd_eval.c */
int cmd_bench(int argc, char **argv); /* tools/cmd_bench.c */
int cmd_video(int argc, char **argv); /* tools/cmd_video.c */

#endif
