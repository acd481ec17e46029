/* main.c: the trawl command. For now it only reports that the engine is not
 * wired yet; the options module replaces this with real parsing. */
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "trawl: scanning engine not built yet\n");
  return 1;
}
