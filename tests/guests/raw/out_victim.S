/* out_victim.S: starts 0x1000 bytes into its text (where out_park.S parks) and aborts with code 7. Skipping its first
 * (two-byte) instruction would abort with code 0 instead. */
    .text
    .org 0x1000, 0x90
    .globl _start
_start:
    movb $7, %al
    outl %eax, $0xEC            /* ABORT, code in EAX */
    ud2
    .section .note.GNU-stack, "", @progbits
