/* vmm_kvm_state.c: the KVM vCPU state: the cached reset special registers, the entry state, the
 * reset FPU image, the form snapshots store it in, and the check that a state from an untrusted
 * file is one a CPL3 guest could have left. */
#include "vmm_kvm_state.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "error.h"
#include "x86.h"

/* The special registers of a new vCPU (KVM's reset state), read once from the first vCPU this
 * process creates: every start begins from them, so it needs no KVM_GET_SREGS, and a recycled
 * vCPU keeps nothing of its last sandbox (CR2, say) in them. */
static pthread_mutex_t reset_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvm_sregs reset_sregs;
static int have_reset_sregs;

int hl__kvm_reset_sregs(int vcpu_fd, int recycled, struct kvm_sregs *out)
{
    pthread_mutex_lock(&reset_lock);
    int have = have_reset_sregs;
    if (have)
        *out = reset_sregs;
    pthread_mutex_unlock(&reset_lock);
    if (have)
        return 0;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, out) < 0)
        return hl__fail(HL_EKVM, "KVM_GET_SREGS: %s", strerror(errno));
    if (!recycled) {
        pthread_mutex_lock(&reset_lock);
        reset_sregs = *out;
        have_reset_sregs = 1;
        pthread_mutex_unlock(&reset_lock);
    }
    return 0;
}

void hl__kvm_xsave_reset(struct kvm_xsave *x)
{
    uint8_t *b = (uint8_t *)x->region;
    uint16_t fcw = X86_FCW_DEFAULT;
    uint32_t mxcsr = X86_MXCSR_DEFAULT;
    uint64_t xstate_bv = X86_XFEATURE_X87 | X86_XFEATURE_SSE;
    memset(x, 0, sizeof *x);
    memcpy(b + X86_FXSAVE_FCW, &fcw, sizeof fcw);
    memcpy(b + X86_FXSAVE_MXCSR, &mxcsr, sizeof mxcsr);
    memcpy(b + X86_XSAVE_HEADER, &xstate_bv, sizeof xstate_bv);
}

void hl__kvm_null_ldt(struct kvm_segment *ldt)
{
    memset(ldt, 0, sizeof *ldt);
    ldt->unusable = 1;
}

void hl__kvm_segment(const hl__segment *s, struct kvm_segment *k)
{
    memset(k, 0, sizeof *k);
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
}

void hl__kvm_entry_state(const hl__cpu_init *init, const struct kvm_sregs *reset,
                         hl__kvm_state *out)
{
    struct kvm_sregs *s = &out->sregs;
    memset(&out->regs, 0, sizeof out->regs);
    *s = *reset;
    s->cr0 = init->cr0;
    s->cr3 = init->cr3;
    s->cr4 = init->cr4;
    s->efer = init->efer;
    hl__kvm_segment(&init->cs, &s->cs);
    hl__kvm_segment(&init->ss, &s->ss);
    hl__kvm_segment(&init->ds, &s->ds);
    s->es = s->fs = s->gs = s->ds;
    s->fs.base = init->fs_base;
    hl__kvm_segment(&init->tr, &s->tr);
    hl__kvm_null_ldt(&s->ldt);
    s->gdt.base = init->gdt_base;
    s->gdt.limit = init->gdt_limit;
    s->idt.base = init->idt_base;
    s->idt.limit = init->idt_limit;
    out->regs.rip = init->rip;
    out->regs.rsp = init->rsp;
    out->regs.rdi = init->rdi;
    out->regs.rflags = init->rflags;
}

static int is_null_selector(uint16_t sel)
{
    return sel < 4; /* index 0 of the GDT, any RPL */
}

/* DS/ES/FS/GS as the CPU holds them after CPL3 loads `sel`: the same descriptor as SS (user data)
 * or CS (user code, readable), or, for a null selector, an unusable segment. 0, or -1 when no CPL3
 * load gives that selector. */
static int canonical_data_segment(uint16_t sel, const struct kvm_sregs *s, struct kvm_segment *out)
{
    if (sel == s->ss.selector)
        *out = s->ss;
    else if (sel == s->cs.selector)
        *out = s->cs;
    else if (is_null_selector(sel)) {
        hl__kvm_null_ldt(out);
        out->selector = sel;
    } else
        return -1;
    return 0;
}

#define FS_INDEX 2 /* in data_segment's order: the one whose base is the thread pointer */

static struct kvm_segment *data_segment(struct kvm_sregs *s, int i)
{
    struct kvm_segment *segs[4] = {&s->ds, &s->es, &s->fs, &s->gs};
    return segs[i];
}

void hl__kvm_state_normalise(hl__kvm_state *st)
{
    struct kvm_sregs *s = &st->sregs;
    hl__kvm_null_ldt(&s->ldt);
    s->apic_base = 0;
    for (int i = 0; i < 4; i++) {
        struct kvm_segment *seg = data_segment(s, i), canon;
        uint64_t base = seg->base;
        if (canonical_data_segment(seg->selector, s, &canon) == 0) {
            *seg = canon;
            if (i == FS_INDEX)
                seg->base = base; /* the thread pointer, or 0 once the guest reloaded FS */
        }
    }
}

void hl__kvm_state_rebuild(const hl__kvm_state *st, const struct kvm_sregs *reset,
                           struct kvm_sregs *out)
{
    const struct kvm_sregs *s = &st->sregs;
    *out = *reset;
    out->cr0 = s->cr0;
    out->cr2 = s->cr2;
    out->cr3 = s->cr3;
    out->cr4 = s->cr4;
    out->efer = s->efer;
    out->gdt = s->gdt;
    out->idt = s->idt;
    out->cs = s->cs;
    out->ss = s->ss;
    out->tr = s->tr;
    out->tr.type = X86_TYPE_TSS64_LOADED; /* read back with the busy bit on SVM: see x86.h */
    hl__kvm_null_ldt(&out->ldt);
    for (int i = 0; i < 4; i++) {
        struct kvm_segment *seg = data_segment(out, i);
        const struct kvm_segment *from = data_segment((struct kvm_sregs *)s, i);
        if (canonical_data_segment(from->selector, s, seg))
            hl__kvm_null_ldt(seg);
        else if (i == FS_INDEX)
            seg->base = from->base;
    }
}

/* ---------------------------------------------------------------- checking untrusted states */

static _Thread_local char why_buf[160];

static int differs(const char **why, const char *field, unsigned long long got,
                   unsigned long long want)
{
    snprintf(why_buf, sizeof why_buf, "vCPU state: %s is 0x%llx, expected 0x%llx", field, got,
             want);
    *why = why_buf;
    return -1;
}

static int refuse(const char **why, const char *field, const char *what)
{
    snprintf(why_buf, sizeof why_buf, "vCPU state: %s %s", field, what);
    *why = why_buf;
    return -1;
}

static int segment_equals(const struct kvm_segment *k, const struct kvm_segment *w)
{
    return k->base == w->base && k->limit == w->limit && k->selector == w->selector &&
           k->type == w->type && k->present == w->present && k->dpl == w->dpl && k->db == w->db &&
           k->s == w->s && k->l == w->l && k->g == w->g && k->avl == w->avl &&
           k->unusable == w->unusable && k->padding == 0;
}

static int check_control(const struct kvm_sregs *s, const hl__cpu_init *e, const char **why)
{
    if (s->cr0 != e->cr0)
        return differs(why, "CR0", s->cr0, e->cr0);
    if (s->cr3 != e->cr3)
        return differs(why, "CR3", s->cr3, e->cr3);
    if (s->cr4 != e->cr4)
        return differs(why, "CR4", s->cr4, e->cr4);
    if (s->efer != e->efer)
        return differs(why, "EFER", s->efer, e->efer);
    if (s->cr8 != 0)
        return differs(why, "CR8", s->cr8, 0);
    if (s->apic_base != 0)
        return differs(why, "APIC base", s->apic_base, 0);
    for (int i = 0; i < 4; i++)
        if (s->interrupt_bitmap[i])
            return refuse(why, "interrupt bitmap", "has a pending interrupt");
    return 0;
}

static int check_tables(const struct kvm_sregs *s, const hl__cpu_init *e, const char **why)
{
    if (s->gdt.base != e->gdt_base || s->gdt.padding[0] || s->gdt.padding[1] || s->gdt.padding[2])
        return differs(why, "GDT base", s->gdt.base, e->gdt_base);
    if (s->gdt.limit != e->gdt_limit)
        return differs(why, "GDT limit", s->gdt.limit, e->gdt_limit);
    if (s->idt.base != e->idt_base || s->idt.padding[0] || s->idt.padding[1] || s->idt.padding[2])
        return differs(why, "IDT base", s->idt.base, e->idt_base);
    if (s->idt.limit != e->idt_limit)
        return differs(why, "IDT limit", s->idt.limit, e->idt_limit);
    return 0;
}

static int check_segments(const struct kvm_sregs *s, const hl__cpu_init *e, const char **why)
{
    static const char *const names[4] = {"DS", "ES", "FS", "GS"};
    struct kvm_segment want, null_ldt;
    hl__kvm_segment(&e->cs, &want);
    if (!segment_equals(&s->cs, &want))
        return refuse(why, "CS", "is not the guest's CPL3 code segment");
    hl__kvm_segment(&e->ss, &want);
    if (!segment_equals(&s->ss, &want))
        return refuse(why, "SS", "is not the guest's CPL3 stack segment");
    struct kvm_segment tr = s->tr; /* available or busy: the load puts the library's type back */
    hl__kvm_segment(&e->tr, &want);
    tr.type |= X86_TYPE_TSS_BUSY_BIT;
    want.type |= X86_TYPE_TSS_BUSY_BIT;
    if (!segment_equals(&tr, &want))
        return refuse(why, "TR", "is not the library's task segment");
    hl__kvm_null_ldt(&null_ldt);
    if (!segment_equals(&s->ldt, &null_ldt))
        return refuse(why, "LDTR", "is not null and unusable");
    for (int i = 0; i < 4; i++) {
        const struct kvm_segment *seg = data_segment((struct kvm_sregs *)s, i);
        int loadable = canonical_data_segment(seg->selector, s, &want) == 0;
        if (i == FS_INDEX && loadable && seg->base == e->fs_base)
            want.base = e->fs_base; /* as the library set it; a reload of FS makes it 0 */
        if (!loadable || !segment_equals(seg, &want))
            return refuse(why, names[i],
                          "is not a null, user-data or user-code segment with "
                          "base 0 (FS: or the thread pointer)");
    }
    return 0;
}

static int check_fpu(const struct kvm_xsave *x, const char **why)
{
    const uint8_t *b = (const uint8_t *)x->region;
    uint16_t fcw;
    uint32_t mxcsr;
    uint64_t header[X86_XSAVE_HEADER_SIZE / 8];
    memcpy(&fcw, b + X86_FXSAVE_FCW, sizeof fcw);
    memcpy(&mxcsr, b + X86_FXSAVE_MXCSR, sizeof mxcsr);
    memcpy(header, b + X86_XSAVE_HEADER, sizeof header);
    if (fcw & X86_FCW_RESERVED)
        return differs(why, "x87 control word", fcw, fcw & ~X86_FCW_RESERVED);
    if (b[X86_FXSAVE_FTW_RESERVED])
        return differs(why, "x87 tag word's reserved byte", b[X86_FXSAVE_FTW_RESERVED], 0);
    if (mxcsr & X86_MXCSR_RESERVED)
        return differs(why, "MXCSR", mxcsr, mxcsr & ~X86_MXCSR_RESERVED);
    if (header[0] & ~(X86_XFEATURE_X87 | X86_XFEATURE_SSE))
        return differs(why, "XSTATE_BV", header[0],
                       header[0] & (X86_XFEATURE_X87 | X86_XFEATURE_SSE));
    for (size_t i = 1; i < sizeof header / 8; i++)
        if (header[i])
            return refuse(why, "XSAVE header", "has XCOMP_BV or reserved bytes set");
    for (size_t i = X86_XSAVE_HEADER + X86_XSAVE_HEADER_SIZE; i < sizeof x->region; i++)
        if (b[i])
            return refuse(why, "XSAVE image", "holds state beyond x87 and SSE");
    return 0;
}

int hl__vcpu_state_check(const hl__vcpu_state *in, const hl__cpu_init *e, const char **why)
{
    static _Thread_local hl__kvm_state st;
    memcpy(&st, in->bytes, sizeof st);
    for (size_t i = sizeof st; i < sizeof in->bytes; i++)
        if (in->bytes[i])
            return refuse(why, "state", "has bytes set past its end");
    if ((st.regs.rflags & ~X86_RFLAGS_USER_BITS) != X86_RFLAGS_RESERVED1)
        return differs(why, "RFLAGS (privileged bits)", st.regs.rflags & ~X86_RFLAGS_USER_BITS,
                       X86_RFLAGS_RESERVED1);
    int rc = check_control(&st.sregs, e, why);
    if (!rc)
        rc = check_tables(&st.sregs, e, why);
    if (!rc)
        rc = check_segments(&st.sregs, e, why);
    if (!rc)
        rc = check_fpu(&st.xsave, why);
    return rc;
}
