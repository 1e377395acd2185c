/* out_park.S: a tenant whose last instruction is `out DONE` 0x1000 bytes into its text, the
 * address where out_victim.S starts: if the vCPU went on to the next tenant with that OUT's
 * completion still pending in KVM, the next tenant would start two bytes further on. */
    .text
    .globl _start
_start:
    jmp park
    .org 0x1000, 0x90
park:
    outl %eax, $0xE0            /* DONE with an empty output stack: init fails, the VM is pooled */
    ud2
    .section .note.GNU-stack, "", @progbits
