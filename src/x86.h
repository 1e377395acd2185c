/* x86.h: x86-64 architectural constants used to build the guest's CPU state (Intel SDM vol. 3). */
#ifndef HL_SRC_X86_H
#define HL_SRC_X86_H

#include <stdint.h>

/* Page-table entry bits (SDM 4.5, table 4-19/4-20). */
#define X86_PTE_P (1ull << 0)
#define X86_PTE_RW (1ull << 1)
#define X86_PTE_US (1ull << 2)
#define X86_PTE_A (1ull << 5)
#define X86_PTE_D (1ull << 6)
#define X86_PTE_NX (1ull << 63)
#define X86_PTE_ADDR_MASK 0x000ffffffffff000ull

/* Control registers (SDM 2.5). */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_PG (1ull << 31)
/* CPUID feature bits the library hides from guests (vmm_kvm.c): the XSAVE family. */
#define X86_CPUID_1_ECX_FMA (1u << 12)
#define X86_CPUID_1_ECX_XSAVE (1u << 26)
#define X86_CPUID_1_ECX_OSXSAVE (1u << 27)
#define X86_CPUID_1_ECX_AVX (1u << 28)
#define X86_CPUID_1_ECX_F16C (1u << 29)
/* leaf 7.0: AVX2 (EBX 5), AVX-512 F/DQ/IFMA/PF/ER/CD/BW/VL (EBX 16,17,21,26..28,30,31), the
 * AVX-512 and AMX extensions in ECX and EDX */
#define X86_CPUID_7_EBX_AVX_FAMILY 0xDC230020u
#define X86_CPUID_7_ECX_AVX_FAMILY 0x00005842u
#define X86_CPUID_7_EDX_AVX_FAMILY 0x03C0010Cu
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)
#define X86_RFLAGS_RESERVED1 (1ull << 1)
#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_DF (1ull << 10)
#define X86_RFLAGS_NT (1ull << 14)
#define X86_RFLAGS_AC (1ull << 18)
/* What POPF at CPL3 with IOPL 0 can change (SDM 3.4.3): CF PF AF ZF SF TF DF OF NT RF AC ID. */
#define X86_RFLAGS_USER_BITS 0x254dd5ull

/* x87/SSE state (SDM 8.1.5, 10.2.3, 13.4): reset values and reserved bits. */
#define X86_FCW_DEFAULT 0x37f    /* FNINIT: all x87 exceptions masked, 64-bit precision */
#define X86_FCW_RESERVED 0xe000u /* bits 13-15 */
#define X86_MXCSR_DEFAULT 0x1f80 /* all SSE exceptions masked, round to nearest */
#define X86_MXCSR_RESERVED 0xffff0000u
/* The XSAVE area (SDM 13.4): the legacy FXSAVE region, then the 64-byte XSAVE header. */
#define X86_FXSAVE_FCW 0
#define X86_FXSAVE_FTW_RESERVED 5 /* the byte after the abridged tag word */
#define X86_FXSAVE_MXCSR 24
#define X86_XSAVE_HEADER 512 /* XSTATE_BV (8 bytes), XCOMP_BV (8), 48 reserved bytes */
#define X86_XSAVE_HEADER_SIZE 64
#define X86_XFEATURE_X87 (1ull << 0)
#define X86_XFEATURE_SSE (1ull << 1)

/* GDT selectors of our fixed GDT (index << 3 | RPL). */
#define X86_SEL_KERNEL_CODE 0x08
#define X86_SEL_KERNEL_DATA 0x10
#define X86_SEL_USER_DATA (0x18 | 3)
#define X86_SEL_USER_CODE (0x20 | 3)
#define X86_SEL_TSS 0x28

/* Descriptor access bytes (SDM 3.4.5): P | DPL | S | type. */
#define X86_DESC_KERNEL_CODE 0x9b /* P, DPL0, code, exec/read, accessed */
#define X86_DESC_KERNEL_DATA 0x93 /* P, DPL0, data, read/write, accessed */
#define X86_DESC_USER_DATA 0xf3   /* P, DPL3, data, read/write, accessed */
#define X86_DESC_USER_CODE 0xfb   /* P, DPL3, code, exec/read, accessed */
#define X86_DESC_TSS64 0x89       /* P, DPL0, system, available 64-bit TSS */
#define X86_TYPE_TSS64_BUSY 0xb
#define X86_TYPE_TSS_BUSY_BIT 0x2
/* The TSS type TR holds while the guest runs: busy, as VMX requires at VM entry (SDM 26.3.1.2).
 * QEMU's software emulation of SVM (make vm-test) applies the I/O bitmap only with an available
 * TSS, so that build loads type 9; AMD hardware and KVM accept either, and KVM on SVM reports the
 * busy bit set whatever was loaded. */
#ifndef X86_TYPE_TSS64_LOADED
#define X86_TYPE_TSS64_LOADED X86_TYPE_TSS64_BUSY
#endif
#define X86_TYPE_DATA_RW_ACCESSED 0x3
#define X86_TYPE_CODE_RX_ACCESSED 0xb
#define X86_GATE_INTERRUPT 0x8e      /* P, DPL0, 64-bit interrupt gate (SDM 6.14.1) */
#define X86_GATE_INTERRUPT_USER 0xee /* the same with DPL3: INT3 at CPL3 may use it */

/* 64-bit TSS (SDM 7.7): rsp0 at 4, iomap_base at 102, 104 bytes. */
#define X86_TSS_RSP0 4
#define X86_TSS_IOMAP_BASE 102
#define X86_TSS_SIZE 104

/* Exception vectors (SDM 6.3.1). */
#define X86_VEC_DE 0
#define X86_VEC_DB 1
#define X86_VEC_NMI 2
#define X86_VEC_BP 3
#define X86_VEC_OF 4
#define X86_VEC_BR 5
#define X86_VEC_UD 6
#define X86_VEC_NM 7
#define X86_VEC_DF 8
#define X86_VEC_TS 10
#define X86_VEC_NP 11
#define X86_VEC_SS 12
#define X86_VEC_GP 13
#define X86_VEC_PF 14
#define X86_VEC_MF 16
#define X86_VEC_AC 17
#define X86_VEC_MC 18
#define X86_VEC_XM 19
#define X86_VEC_CP 21
#define X86_EXCEPTION_VECTORS 32
/* Vectors for which the CPU pushes an error code. */
#define X86_VEC_HAS_ERROR(v)                                                                       \
    ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

/* #PF error code bits (SDM 4.7). */
#define X86_PF_PRESENT (1u << 0)
#define X86_PF_WRITE (1u << 1)
#define X86_PF_USER (1u << 2)
#define X86_PF_FETCH (1u << 4)

/* Debug registers at reset (SDM 17.2.3, 17.2.4): no breakpoint armed, DR6 with its fixed ones. */
#define X86_DR6_RESET 0xffff0ff0ull
#define X86_DR7_RESET 0x400ull

#endif
