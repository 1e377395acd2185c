/* big_data.S: a guest whose image is mostly 16 MiB of initialised data (memory_limit, load peak). */
    .text
    .globl _start
_start:
    movl $0, %eax
    outl %eax, $0xEC
    ud2
    .data
    .fill 16 * 1024 * 1024, 1, 0x55
    .section .note.GNU-stack, "", @progbits
