/* js_image.S: the JS guest built into libhyperlight_js. HLJS_IMAGE is the path of js.elf, or of
 * an empty file when the guest could not be built; HLJS_MISSING then says why (mk/quickjs.mk). */
    .section .rodata.hljs_image, "a"
    .balign 16
    .globl hljs__image, hljs__image_end, hljs__missing
    .hidden hljs__image, hljs__image_end, hljs__missing
hljs__image:
    .incbin HLJS_IMAGE
hljs__image_end:
    .byte 0
hljs__missing:
    .incbin HLJS_MISSING
    .byte 0
    .section .note.GNU-stack, "", @progbits
