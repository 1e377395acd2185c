/* prelude.S: js/guest/prelude.js as the bytes hljs_prelude[] .. hljs_prelude_end. */
    .section .rodata.hljs_prelude, "a"
    .globl hljs_prelude, hljs_prelude_end
hljs_prelude:
    .incbin "js/guest/prelude.js"
hljs_prelude_end:
    .byte 0
    .section .note.GNU-stack, "", @progbits
