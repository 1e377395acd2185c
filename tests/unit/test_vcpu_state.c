/* test_vcpu_state.c: the check of untrusted vCPU states (snapshot files) refuses every field a
 * CPL3 guest cannot change, naming it; the stored form of a live state passes it. */
#include <linux/kvm.h>

#include "config.h"
#include "cpu.h"
#include "harness.h"
#include "layout.h"
#include "vmm_kvm_state.h"
#include "x86.h"

/* A state as a guest parked between calls leaves it, in its stored form. */
static void good_state(hl__kvm_state *st, hl__cpu_init *init)
{
    hl_config cfg;
    hl__layout l;
    struct kvm_sregs reset;
    hl_config_init(&cfg);
    memset(&reset, 0, sizeof reset);
    reset.apic_base = 0xfee00900; /* what KVM reports; the stored form drops it */
    reset.ldt.present = 1, reset.ldt.type = 2, reset.ldt.limit = 0xffff;
    CHECK_EQ(hl__layout_build(&cfg, 0x100000, 0x10000, &l), 0);
    hl__cpu_initial_state(&l, 0, init);
    hl__kvm_entry_state(init, &reset, st);
    hl__kvm_xsave_reset(&st->xsave); /* what a new or scrubbed vCPU holds */
    st->regs.rip = 0x100123;
    st->regs.rax = 0x1234;
    st->regs.rflags |= 0x8c5; /* CF PF ZF SF OF: the guest's own */
    st->sregs.cr2 = 0x4000;   /* from a fault the guest caused */
    hl__kvm_state_normalise(st);
}

/* Runs the check on st; returns its reason ("" when it passes). */
static const char *check(const hl__kvm_state *st, const hl__cpu_init *init)
{
    static hl__vcpu_state in;
    const char *why = NULL;
    memset(&in, 0, sizeof in);
    memcpy(in.bytes, st, sizeof *st);
    return hl__vcpu_state_check(&in, init, &why) == 0 ? "" : why;
}

static void set16(hl__kvm_state *st, size_t off, uint16_t v)
{
    memcpy((uint8_t *)st->xsave.region + off, &v, sizeof v);
}

static void set32(hl__kvm_state *st, size_t off, uint32_t v)
{
    memcpy((uint8_t *)st->xsave.region + off, &v, sizeof v);
}

static void set64(hl__kvm_state *st, size_t off, uint64_t v)
{
    memcpy((uint8_t *)st->xsave.region + off, &v, sizeof v);
}

TEST(stored_state_of_a_parked_guest_passes)
{
    hl__kvm_state st;
    hl__cpu_init init;
    good_state(&st, &init);
    CHECK_STREQ(check(&st, &init), "");
    CHECK_U64_EQ(st.sregs.apic_base, 0);
    CHECK(st.sregs.ldt.unusable && !st.sregs.ldt.present && st.sregs.ldt.base == 0);
}

/* FS.base starts as the thread pointer; the guest can only make it 0 (reloading FS). */
TEST(fs_base_is_the_thread_pointer_or_zero)
{
    hl__kvm_state st;
    hl__cpu_init init;
    good_state(&st, &init);
    CHECK(init.fs_base != 0);
    CHECK_U64_EQ(st.sregs.fs.base, init.fs_base);
    CHECK_U64_EQ(st.sregs.gs.base, 0);
    CHECK_STREQ(check(&st, &init), "");
    st.sregs.fs.base = 0;
    CHECK_STREQ(check(&st, &init), "");
    st.sregs.fs.base = init.fs_base + 64;
    CHECK_CONTAINS(check(&st, &init), "FS");
    good_state(&st, &init);
    st.sregs.gs.base = init.fs_base; /* only FS */
    CHECK_CONTAINS(check(&st, &init), "GS");
}

TEST(guest_changeable_fields_pass)
{
    hl__kvm_state st;
    hl__cpu_init init;
    good_state(&st, &init);
    st.regs.rflags |= X86_RFLAGS_AC | X86_RFLAGS_DF | X86_RFLAGS_TF | X86_RFLAGS_NT;
    st.sregs.ds.selector = 0; /* a null DS, as `mov %ax, %ds` with 0 leaves it */
    st.sregs.es = st.sregs.cs;
    hl__kvm_state_normalise(&st);
    set16(&st, X86_FXSAVE_FCW, 0x7f);
    set32(&st, X86_FXSAVE_MXCSR, 0xffff);
    CHECK_STREQ(check(&st, &init), "");
}

/* Each row changes one field a CPL3 guest cannot change; the check must name it. */
TEST(every_privileged_field_is_refused_by_name)
{
    static const struct {
        const char *field;
        int what;
    } rows[] = {
        {"LDTR", 0},
        {"LDTR", 1},
        {"DS", 2},
        {"FS", 3},
        {"GS", 4},
        {"ES", 5},
        {"APIC base", 6},
        {"CR8", 7},
        {"interrupt bitmap", 8},
        {"x87 control", 9},
        {"MXCSR", 10},
        {"XSTATE_BV", 11},
        {"XSAVE header", 12},
        {"XSAVE image", 13},
        {"RFLAGS", 14},
        {"RFLAGS", 15},
        {"CR0", 16},
        {"CR3", 17},
        {"CR4", 18},
        {"EFER", 19},
        {"GDT base", 20},
        {"IDT limit", 21},
        {"CS", 22},
        {"SS", 23},
        {"TR", 24},
        {"x87 tag", 25},
        {"state", 26},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hl__kvm_state st;
        hl__cpu_init init;
        good_state(&st, &init);
        struct kvm_sregs *s = &st.sregs;
        switch (rows[i].what) {
        case 0: /* an LDT over guest memory: a CPL3 call gate would reach ring 0 */
            s->ldt.base = 0x3f000, s->ldt.limit = 0xfff, s->ldt.type = 2, s->ldt.present = 1;
            s->ldt.unusable = 0;
            break;
        case 1:
            s->ldt.selector = 0x30;
            break;
        case 2: /* kernel data */
            s->ds.selector = X86_SEL_KERNEL_DATA, s->ds.dpl = 0;
            break;
        case 3:
            s->fs.base = 0x123456789000ull;
            break;
        case 4: /* a null GS with a base */
            s->gs.selector = 0, s->gs.unusable = 1, s->gs.present = 0, s->gs.base = 0x1000;
            break;
        case 5:
            s->es.dpl = 0;
            break;
        case 6:
            s->apic_base = 1;
            break;
        case 7:
            s->cr8 = 15;
            break;
        case 8:
            s->interrupt_bitmap[1] = 1ull << 3;
            break;
        case 9:
            set16(&st, X86_FXSAVE_FCW, 0xe37f);
            break;
        case 10:
            set32(&st, X86_FXSAVE_MXCSR, 0x11f80);
            break;
        case 11: /* AVX state: the guest has no OSXSAVE, so none of its own */
            set64(&st, X86_XSAVE_HEADER, 7);
            break;
        case 12: /* XCOMP_BV: a compacted image */
            set64(&st, X86_XSAVE_HEADER + 8, 1ull << 63);
            break;
        case 13:
            ((uint8_t *)st.xsave.region)[1000] = 1;
            break;
        case 14: /* IOPL 3 */
            st.regs.rflags |= 3ull << 12;
            break;
        case 15: /* IF */
            st.regs.rflags |= 1ull << 9;
            break;
        case 16:
            s->cr0 &= ~X86_CR0_WP;
            break;
        case 17:
            s->cr3 += 4096;
            break;
        case 18:
            s->cr4 |= 1ull << 20; /* a bit the library does not set (SMEP) */
            break;
        case 19:
            s->efer |= 1; /* SCE: syscall would enter ring 0 */
            break;
        case 20:
            s->gdt.base += 8;
            break;
        case 21:
            s->idt.limit = 0xfff;
            break;
        case 22:
            s->cs.dpl = 0, s->cs.selector = X86_SEL_KERNEL_CODE;
            break;
        case 23:
            s->ss.dpl = 0;
            break;
        case 24:
            s->tr.base += 8;
            break;
        case 25:
            ((uint8_t *)st.xsave.region)[X86_FXSAVE_FTW_RESERVED] = 1;
            break;
        case 26:
            break; /* bytes past the state: set below */
        }
        hl__vcpu_state in;
        const char *why = NULL;
        memset(&in, 0, sizeof in);
        memcpy(in.bytes, &st, sizeof st);
        if (rows[i].what == 26)
            in.bytes[sizeof in.bytes - 1] = 1;
        if (hl__vcpu_state_check(&in, &init, &why) == 0)
            hl_test_fail(__FILE__, __LINE__, "row %zu (%s) was accepted", i, rows[i].field);
        CHECK_CONTAINS(why, rows[i].field);
    }
}

TEST(rebuild_takes_only_guest_fields_over_the_reset_state)
{
    hl__kvm_state st;
    hl__cpu_init init;
    struct kvm_sregs reset, out;
    good_state(&st, &init);
    memset(&reset, 0, sizeof reset);
    reset.apic_base = 0xfee00900;
    st.sregs.fs.selector = 0;
    hl__kvm_state_normalise(&st);
    hl__kvm_state_rebuild(&st, &reset, &out);
    CHECK_U64_EQ(out.apic_base, 0xfee00900);
    CHECK_U64_EQ(out.cr2, 0x4000);
    CHECK(out.ldt.unusable && !out.ldt.present && out.ldt.selector == 0);
    CHECK(out.fs.unusable && out.fs.base == init.fs_base); /* AMD keeps it at a null load */
    CHECK_MEMEQ(&out.ds, &st.sregs.ss, sizeof out.ds);
    CHECK_MEMEQ(&out.cs, &st.sregs.cs, sizeof out.cs);
}

TEST(reset_fpu_image_names_x87_and_sse_so_every_byte_loads)
{
    struct kvm_xsave x;
    uint16_t fcw;
    uint32_t mxcsr;
    uint64_t bv;
    hl__kvm_xsave_reset(&x);
    memcpy(&fcw, (uint8_t *)x.region + X86_FXSAVE_FCW, 2);
    memcpy(&mxcsr, (uint8_t *)x.region + X86_FXSAVE_MXCSR, 4);
    memcpy(&bv, (uint8_t *)x.region + X86_XSAVE_HEADER, 8);
    CHECK_EQ(fcw, 0x37f);
    CHECK_EQ(mxcsr, 0x1f80);
    CHECK_U64_EQ(bv, X86_XFEATURE_X87 | X86_XFEATURE_SSE);
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(stored_state_of_a_parked_guest_passes),
        TEST_ENTRY(fs_base_is_the_thread_pointer_or_zero),
        TEST_ENTRY(guest_changeable_fields_pass),
        TEST_ENTRY(every_privileged_field_is_refused_by_name),
        TEST_ENTRY(rebuild_takes_only_guest_fields_over_the_reset_state),
        TEST_ENTRY(reset_fpu_image_names_x87_and_sse_so_every_byte_loads),
    };
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
