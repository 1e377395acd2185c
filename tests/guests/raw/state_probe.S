/* state_probe.S: reads the vCPU state a guest finds at its first instruction and aborts with code
 * 0x600d when every part is what a new vCPU holds, else with the number of the first part that is
 * not: 1 MXCSR, 2 x87 control word, 3 x87 status word, 4 x87 tag word, 5 x87 registers, 6 XMM
 * registers, 7 RFLAGS, 8 DS/ES/FS/GS selectors, 9 general registers (all but RDI = PEB and RSP). */
    .text
    .globl _start
_start:
    pushfq                      /* RFLAGS first: the checks below change them */
    orq %rbx, %rax              /* 9: every general register but rdi and rsp starts at 0 */
    orq %rcx, %rax
    orq %rdx, %rax
    orq %rsi, %rax
    orq %rbp, %rax
    orq %r8, %rax
    orq %r9, %rax
    orq %r10, %rax
    orq %r11, %rax
    orq %r12, %rax
    orq %r13, %rax
    orq %r14, %rax
    orq %r15, %rax
    movl $9, %ebx
    testq %rax, %rax
    jnz report
    popq %rax                   /* 7: RFLAGS held only its fixed bit */
    movl $7, %ebx
    cmpq $2, %rax
    jne report
    movl $8, %ebx               /* 8: data segments are the user data segment */
    movw %ds, %ax
    cmpw $0x1b, %ax
    jne report
    movw %es, %ax
    cmpw $0x1b, %ax
    jne report
    movw %fs, %ax
    cmpw $0x1b, %ax
    jne report
    movw %gs, %ax
    cmpw $0x1b, %ax
    jne report
    subq $1024, %rsp
    andq $-64, %rsp
    fxsave64 (%rsp)
    movl $2, %ebx
    cmpw $0x37f, 0(%rsp)        /* FCW */
    jne report
    movl $3, %ebx
    cmpw $0, 2(%rsp)            /* FSW */
    jne report
    movl $4, %ebx
    cmpb $0, 4(%rsp)            /* abridged FTW: every register empty */
    jne report
    movl $1, %ebx
    cmpl $0x1f80, 24(%rsp)      /* MXCSR */
    jne report
    movl $5, %ebx
    leaq 32(%rsp), %rsi         /* ST0-ST7: 8 slots of 16 bytes */
    movl $16, %ecx
    call all_zero
    jnz report
    movl $6, %ebx
    leaq 160(%rsp), %rsi        /* XMM0-XMM15: 16 registers of 16 bytes */
    movl $32, %ecx
    call all_zero
    jnz report
    movl $0x600d, %ebx
report:
    movl %ebx, %eax
    outl %eax, $0xEC            /* ABORT with the verdict as its code */
    ud2

/* ZF set when the rcx quadwords at rsi are all zero. */
all_zero:
    xorl %eax, %eax
1:  orq (%rsi), %rax
    addq $8, %rsi
    decl %ecx
    jnz 1b
    testq %rax, %rax
    ret
    .section .note.GNU-stack, "", @progbits
