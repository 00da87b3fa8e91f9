/* target_io.h — semihosting output and exit for the Cortex-M0 target tests. */
#ifndef TARGET_IO_H
#define TARGET_IO_H
void tio_puts(const char *s);
void tio_exit(int fail);
#endif
