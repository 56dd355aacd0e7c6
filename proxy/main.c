/* main.c: placeholder until the event core lands. */
#include <stdio.h>
int main(void) { fputs("certwrapd: not built yet\n", stderr); return 1; }
