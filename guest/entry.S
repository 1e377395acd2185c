/* entry.S: the guest's first instructions (CPL3, RDI = PEB, RSP = top of the user stack). */
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined rip          /* the outermost frame: debuggers' backtraces end here */
    fninit                      /* x87 to its defaults */
    subq $8, %rsp
    movl $0x1f80, (%rsp)        /* MXCSR default: all SSE exceptions masked */
    ldmxcsr (%rsp)
    addq $8, %rsp
    xorl %ebp, %ebp             /* end of the frame chain for debuggers */
    call hlg__start             /* never returns */
    ud2
    .cfi_endproc
    .size _start, . - _start
    .section .note.GNU-stack, "", @progbits
