/* fpu_dirtier.S: a tenant that leaves every piece of CPL3-changeable vCPU state changed (x87 stack,
 * tag, status and control words, MXCSR, every XMM register, general registers, DS/ES/FS/GS, flags)
 * and ends by aborting with code 1, so its VM goes back to the pool with all of it. */
    .text
    .globl _start
_start:
    .rept 7
    fld1                        /* x87 stack: TOP moves, tags say valid */
    .endr
    movw $0x0040, -8(%rsp)      /* FCW: every x87 exception unmasked, single precision */
    fldcw -8(%rsp)
    movl $0xffbf, -8(%rsp)      /* MXCSR: flush to zero, round toward zero, flags set */
    ldmxcsr -8(%rsp)
    pcmpeqd %xmm0, %xmm0
    pcmpeqd %xmm1, %xmm1
    pcmpeqd %xmm2, %xmm2
    pcmpeqd %xmm3, %xmm3
    pcmpeqd %xmm4, %xmm4
    pcmpeqd %xmm5, %xmm5
    pcmpeqd %xmm6, %xmm6
    pcmpeqd %xmm7, %xmm7
    pcmpeqd %xmm8, %xmm8
    pcmpeqd %xmm9, %xmm9
    pcmpeqd %xmm10, %xmm10
    pcmpeqd %xmm11, %xmm11
    pcmpeqd %xmm12, %xmm12
    pcmpeqd %xmm13, %xmm13
    pcmpeqd %xmm14, %xmm14
    pcmpeqd %xmm15, %xmm15
    xorl %eax, %eax
    movw %ax, %ds               /* null data segments */
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movq $-1, %rbx
    movq $-1, %rcx
    movq $-1, %rdx
    movq $-1, %rsi
    movq $-1, %rdi
    movq $-1, %rbp
    movq $-1, %r8
    movq $-1, %r9
    movq $-1, %r10
    movq $-1, %r11
    movq $-1, %r12
    movq $-1, %r13
    movq $-1, %r14
    movq $-1, %r15
    std
    stc
    movl $1, %eax
    outl %eax, $0xEC            /* ABORT, code 1 */
    ud2
    .section .note.GNU-stack, "", @progbits
