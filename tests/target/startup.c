/*
 * startup.c — bare Cortex-M0 start-up for the target tests: vector table,
 * .data/.bss set-up, and the two semihosting calls the tests need (print a
 * string, exit with pass/fail). QEMU's -semihosting-config turns SYS_EXIT with
 * ADP_Stopped_ApplicationExit into exit status 0 and any other reason into 1,
 * which is what ctest sees. Test-only: never part of a product image.
 */
#include <stdint.h>

#include "target_io.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void tio_puts(const char *s)
{
    semihost(0x04, s);                           /* SYS_WRITE0 */
}

void tio_exit(int fail)
{
    /* SYS_EXIT: ADP_Stopped_ApplicationExit (pass) or RunTimeErrorUnknown (fail) */
    semihost(0x18, (const void *)(uintptr_t)(fail ? 0x20023u : 0x20026u));
    for (;;) {
    }
}

void Fault_Handler(void)
{
    tio_puts("FAIL: hard fault\n");
    tio_exit(1);
}

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    tio_exit(main() != 0);
}

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, Reset_Handler, Fault_Handler, Fault_Handler,
};
