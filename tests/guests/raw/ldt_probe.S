/* ldt_probe.S: a far call through LDT selector 7 (index 0, RPL 3). With the null LDTR every guest
 * must have, the CPU refuses the selector itself (#GP); with a present LDT it would first read a
 * descriptor from the LDT's base (a #PF at its address when that is unmapped). */
    .text
    .globl _start
_start:
    lcall *far(%rip)
    ud2
    .section .rodata
far:
    .long 0                     /* offset */
    .word 7                     /* selector: LDT, index 0, RPL 3 */
    .section .note.GNU-stack, "", @progbits
