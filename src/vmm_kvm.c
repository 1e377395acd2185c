/* vmm_kvm.c: the KVM backend: /dev/kvm, one VM, one memory slot, one vCPU
 * (Documentation/virt/kvm/api.rst), and what it takes to park a VM for reuse (vm_pool.c keeps
 * them). */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "hyperlight/abi.h"
#include "vmm_kvm_state.h"
#include "vmm_kvm_vm.h"
#include "x86.h"

typedef hl__kvm_state kvm_state;

static pthread_once_t kvm_once = PTHREAD_ONCE_INIT;
static int kvm_fd = -1;
static int kvm_errno;
static size_t kvm_run_size;
static int kvm_sync_regs; /* KVM_CAP_SYNC_REGS covers regs and sregs: load them without ioctls */

/* The CPUID every vCPU is given: what KVM supports on this host, read once. Without it a vCPU
 * reports almost no features, and the guest cannot tell that it may use RDRAND (getentropy). */
#define CPUID_MAX_ENTRIES 256
static union { /* a kvm_cpuid2 with room for CPUID_MAX_ENTRIES entries */
    struct kvm_cpuid2 head;
    uint8_t room[sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2)];
} kvm_cpuid;
static int kvm_cpuid_ok;

/* The guest runs with CR4.OSXSAVE clear, and its saved state holds x87 and SSE only (the vCPU
 * state check insists on XSTATE_BV within 0x3): so no XSAVE, AVX or AVX-512 is offered. */
#define CPUID_1_ECX_HIDDEN                                                                         \
    (X86_CPUID_1_ECX_FMA | X86_CPUID_1_ECX_XSAVE | X86_CPUID_1_ECX_OSXSAVE | X86_CPUID_1_ECX_AVX | \
     X86_CPUID_1_ECX_F16C)

static void hide_xsave_features(struct kvm_cpuid_entry2 *e)
{
    if (e->function == 1)
        e->ecx &= ~CPUID_1_ECX_HIDDEN;
    if (e->function == 7 && e->index == 0) {
        e->ebx &= ~X86_CPUID_7_EBX_AVX_FAMILY;
        e->ecx &= ~X86_CPUID_7_ECX_AVX_FAMILY;
        e->edx &= ~X86_CPUID_7_EDX_AVX_FAMILY;
    }
    if (e->function == 0xd)
        e->eax = e->ebx = e->ecx = e->edx = 0;
}

static void read_supported_cpuid(int fd)
{
    kvm_cpuid.head.nent = CPUID_MAX_ENTRIES;
    kvm_cpuid_ok = ioctl(fd, KVM_GET_SUPPORTED_CPUID, &kvm_cpuid) == 0;
    for (uint32_t i = 0; kvm_cpuid_ok && i < kvm_cpuid.head.nent; i++)
        hide_xsave_features(&kvm_cpuid.head.entries[i]);
}

static void open_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        kvm_errno = errno;
        return;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    int run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (version != KVM_API_VERSION || run_size <= 0 ||
        ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
        kvm_errno = ENOTSUP;
        close(fd);
        return;
    }
    kvm_run_size = (size_t)run_size;
    int sync = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    kvm_sync_regs = sync > 0 && (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                                    (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    read_supported_cpuid(fd);
    kvm_fd = fd; /* process-wide, kept open for the life of the process */
}

int hl__vmm_available(void)
{
    pthread_once(&kvm_once, open_kvm);
    if (kvm_fd >= 0)
        return 1;
    hl__fail(HL_ENOKVM, "KVM is not available: /dev/kvm: %s",
             kvm_errno == ENOTSUP ? "unsupported KVM API version or capabilities"
                                  : strerror(kvm_errno));
    return 0;
}

/* Dirty logging in manual-protect mode with every bit initially set: no page is write-protected
 * (so no fault) until the library first clears it. */
static int enable_dirty_log(hl__vm *vm, size_t size)
{
    struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};
    cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
    if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
        return hl__fail(HL_EKVM, "KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2): %s", strerror(errno));
    vm->npages = size / HL_ABI_PAGE_SIZE;
    return 0;
}

static int create_fds(hl__vm *vm, void *mem, size_t size)
{
    vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return hl__fail(HL_EKVM, "KVM_CREATE_VM: %s", strerror(errno));
    int rc = enable_dirty_log(vm, size);
    if (rc)
        return rc;
    struct kvm_userspace_memory_region slot = {.slot = 0,
                                               .flags = KVM_MEM_LOG_DIRTY_PAGES,
                                               .guest_phys_addr = 0,
                                               .memory_size = size,
                                               .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return hl__fail(HL_EKVM, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0)
        return hl__fail(HL_EKVM, "KVM_CREATE_VCPU: %s", strerror(errno));
    if (kvm_cpuid_ok && ioctl(vm->vcpu_fd, KVM_SET_CPUID2, &kvm_cpuid) < 0)
        return hl__fail(HL_EKVM, "KVM_SET_CPUID2: %s", strerror(errno));
    vm->run_size = kvm_run_size;
    void *run = mmap(NULL, kvm_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (run == MAP_FAILED)
        return hl__fail(HL_EKVM, "mmap kvm_run: %s", strerror(errno));
    vm->run = run;
    return 0;
}

/* The vCPUs' TSC rate: KVM gives every vCPU the host's rate unless told otherwise (we never do),
 * so the first vCPU's answer holds for the process. */
static _Atomic uint32_t tsc_khz_cache; /* 0: not asked yet; TSC_KHZ_UNKNOWN: KVM could not say */
#define TSC_KHZ_UNKNOWN UINT32_MAX

uint32_t hl__vm_tsc_khz(hl__vm *vm)
{
    uint32_t khz = tsc_khz_cache;
    if (!khz) {
        int r = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
        khz = r > 0 ? (uint32_t)r : TSC_KHZ_UNKNOWN;
        tsc_khz_cache = khz;
    }
    return khz == TSC_KHZ_UNKNOWN ? 0 : khz;
}

static void close_vm(hl__vm *vm)
{
    hl__mem_unmap(&vm->slot_mem);
    if (vm->run)
        munmap(vm->run, vm->run_size);
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    free(vm);
}

static int set_slot(hl__vm *vm, void *mem, size_t size)
{
    struct kvm_userspace_memory_region slot = {.slot = 0,
                                               .flags = size ? KVM_MEM_LOG_DIRTY_PAGES : 0,
                                               .guest_phys_addr = 0,
                                               .memory_size = size,
                                               .userspace_addr =
                                                   size ? (uint64_t)(uintptr_t)mem : 0};
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return hl__fail(HL_EKVM, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
    return 0;
}

int hl__vm_new(void *mem, size_t size, hl__vm **out)
{
    if (!hl__vmm_available())
        return HL_ENOKVM;
    hl__vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return hl__fail(HL_ENOMEM, "out of memory creating a VM");
    vm->vm_fd = vm->vcpu_fd = -1;
    int rc = create_fds(vm, mem, size);
    if (rc) {
        close_vm(vm);
        return rc;
    }
    *out = vm;
    return 0;
}

/* Points a pooled VM's slot at other memory (its own range is given up). */
int hl__vm_reattach(hl__vm *vm, void *mem, size_t size)
{
    vm->npages = size / HL_ABI_PAGE_SIZE;
    vm->recycled = 1;
    int rc = set_slot(vm, NULL, 0);
    hl__mem_unmap(&vm->slot_mem);
    return rc ? rc : set_slot(vm, mem, size);
}

static int load_state(hl__vm *vm, const kvm_state *st);

static int initial_sregs(hl__vm *vm, struct kvm_sregs *out)
{
    return hl__kvm_reset_sregs(vm->vcpu_fd, vm->recycled, out);
}

/* The guest's entry state (registers, special registers, no pending event), applied by the
 * first KVM_RUN when sync regs are available. The FPU is a new vCPU's, or was reset when a
 * recycled one was pooled. */
int hl__vm_start(hl__vm *vm, const hl__cpu_init *init)
{
    static _Thread_local kvm_state st;
    struct kvm_sregs reset;
    int rc = initial_sregs(vm, &reset);
    if (rc)
        return rc;
    hl__kvm_entry_state(init, &reset, &st);
    return load_state(vm, &st);
}

int hl__vm_unpark(hl__vm *vm, hl__mem *m)
{
    *m = vm->slot_mem;
    memset(&vm->slot_mem, 0, sizeof vm->slot_mem);
    if (mmap(m->base, m->size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
        hl__mem_unmap(m);
        return -1;
    }
    vm->recycled = 1;
    return 0;
}

size_t hl__vm_kept_size(const hl__vm *vm)
{
    return vm->slot_mem.size;
}

/* Drops the guest's pages but keeps the address range reserved for the slot: KVM's MMU notifier
 * zaps every mapping of the old pages (and flushes the guest TLB) as they go. */
static int drop_memory(hl__mem *m)
{
    return mmap(m->base, m->size, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED
               ? -1
               : 0;
}

/* Turns a debugger's KVM guest debugging off (vmm_kvm_debug.c turns it on). */
static int stop_guest_debug(hl__vm *vm)
{
    struct kvm_guest_debug off;
    memset(&off, 0, sizeof off);
    if (!vm->guest_debug)
        return 0;
    if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &off) < 0)
        return -1;
    vm->guest_debug = 0;
    return 0;
}

/* Makes KVM finish the exit it is still completing (the OUT's RIP advance) without entering the
 * guest: a KVM_RUN with immediate_exit set runs the completion and returns EINTR (api.rst,
 * KVM_EXIT_IO). Registers a restore left in kvm_run are dropped first, so that completion applies
 * to the state the OUT ran in. A vCPU where this fails is tainted. */
int hl__kvm_complete_io(hl__vm *vm)
{
    if (!vm->io_pending)
        return 0;
    if (stop_guest_debug(vm)) { /* a single-step would stop the completion as a run */
        vm->tainted = 1;
        return hl__fail(HL_EKVM, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
    }
    vm->io_pending = 0;
    vm->run->kvm_dirty_regs = 0;
    vm->run->immediate_exit = 1;
    int r = ioctl(vm->vcpu_fd, KVM_RUN, 0), err = errno;
    vm->run->immediate_exit = 0;
    if (r == 0 || (err != EINTR && err != EAGAIN)) {
        vm->tainted = 1;
        return hl__fail(HL_EKVM, "KVM_RUN to complete an OUT: %s",
                        r == 0 ? "the guest ran" : strerror(err));
    }
    return 0;
}

int hl__vm_finish_exit(hl__vm *vm)
{
    return hl__kvm_complete_io(vm);
}

/* What a tenant can leave in a vCPU beyond the registers every start loads: the pending OUT
 * completion, the FPU/SSE state (MXCSR included: KVM_SET_FPU ignores it), the debug registers
 * (DR6 after a #DB) and a debugger's guest-debug settings. Events, registers and special registers
 * are loaded at the next start. */
static int scrub(hl__vm *vm)
{
    struct kvm_xsave xsave;
    struct kvm_debugregs dbg;
    memset(&dbg, 0, sizeof dbg);
    dbg.dr6 = X86_DR6_RESET;
    dbg.dr7 = X86_DR7_RESET;
    hl__kvm_xsave_reset(&xsave);
    if (hl__kvm_complete_io(vm) || stop_guest_debug(vm))
        return -1; /* (the completion stops guest debugging first) */
    return ioctl(vm->vcpu_fd, KVM_SET_XSAVE, &xsave) < 0 ||
                   ioctl(vm->vcpu_fd, KVM_SET_DEBUGREGS, &dbg) < 0
               ? -1
               : 0;
}

int hl__vm_park(hl__vm *vm, hl__mem *m)
{
    if (vm->tainted || vm->debugged || !m->map || scrub(vm) || drop_memory(m))
        return -1;
    vm->slot_mem = *m;
    memset(m, 0, sizeof *m);
    return 0;
}

static void translate_io(const struct kvm_run *run, size_t run_size, hl__exit *e)
{
    e->kind = run->io.direction == KVM_EXIT_IO_OUT ? HL_EXIT_IO_OUT : HL_EXIT_IO_IN;
    e->port = run->io.port;
    e->size = run->io.size;
    e->count = run->io.count;
    e->value = 0;
    if (e->kind == HL_EXIT_IO_OUT && run->io.size <= 4 && run->io.data_offset <= run_size - 4)
        memcpy(&e->value, (const uint8_t *)run + run->io.data_offset, run->io.size);
}

/* Exits after which KVM finishes the instruction on the next KVM_RUN (IN writes RAX, MMIO and
 * string I/O re-enter the emulator) and would then move a restored RIP: such a vCPU is never
 * resumed at another point or recycled. A plain OUT only advances RIP past itself: that
 * completion is run on its own (hl__kvm_complete_io) before the vCPU is saved, loaded or pooled. */
static int leaves_work(const struct kvm_run *run)
{
    if (run->exit_reason != KVM_EXIT_IO)
        return run->exit_reason != KVM_EXIT_INTR && run->exit_reason != KVM_EXIT_DEBUG;
    return run->io.direction != KVM_EXIT_IO_OUT || run->io.count != 1;
}

int hl__vm_tainted(const hl__vm *vm)
{
    return vm->tainted;
}

int hl__vm_run(hl__vm *vm, hl__exit *e)
{
    memset(e, 0, sizeof *e);
    vm->io_pending = 0; /* every KVM_RUN runs the completion first */
    if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            vm->run->immediate_exit = 0;
            e->kind = HL_EXIT_INTR;
            return 0;
        }
        return hl__fail(HL_EKVM, "KVM_RUN: %s", strerror(errno));
    }
    const struct kvm_run *run = vm->run;
    e->raw = run->exit_reason;
    vm->tainted |= leaves_work(run);
    vm->io_pending = run->exit_reason == KVM_EXIT_IO && !vm->tainted;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        translate_io(run, vm->run_size, e);
        break;
    case KVM_EXIT_MMIO:
        e->kind = HL_EXIT_MMIO;
        e->gpa = run->mmio.phys_addr;
        e->is_write = run->mmio.is_write;
        break;
    case KVM_EXIT_HLT:
        e->kind = HL_EXIT_HLT;
        break;
    case KVM_EXIT_SHUTDOWN:
        e->kind = HL_EXIT_SHUTDOWN;
        break;
    case KVM_EXIT_INTR:
        e->kind = HL_EXIT_INTR;
        break;
    case KVM_EXIT_DEBUG:
        e->kind = HL_EXIT_DEBUG;
        e->value = run->debug.arch.exception;
        e->gpa = run->debug.arch.pc;
        e->dr6 = run->debug.arch.dr6;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        e->kind = HL_EXIT_OTHER;
        e->value = run->internal.suberror;
        break;
    default:
        e->kind = HL_EXIT_OTHER;
        break;
    }
    return 0;
}

int hl__vm_save_state(hl__vm *vm, hl__vcpu_state *out)
{
    static _Thread_local kvm_state st;
    memset(&st, 0, sizeof st);
    if (hl__kvm_complete_io(vm))
        return HL_EKVM;
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &st.regs) < 0 ||
        ioctl(vm->vcpu_fd, KVM_GET_SREGS, &st.sregs) < 0 ||
        ioctl(vm->vcpu_fd, KVM_GET_XSAVE, &st.xsave) < 0)
        return hl__fail(HL_EKVM, "reading vCPU state: %s", strerror(errno));
    hl__kvm_state_normalise(&st);
    memset(out, 0, sizeof *out);
    memcpy(out->bytes, &st, sizeof st);
    return 0;
}

/* Registers, special registers and (cleared) events travel in kvm_run and are applied by the
 * next KVM_RUN. */
static void load_state_sync(hl__vm *vm, const kvm_state *st)
{
    vm->run->s.regs.regs = st->regs;
    vm->run->s.regs.sregs = st->sregs;
    memset(&vm->run->s.regs.events, 0, sizeof vm->run->s.regs.events);
    vm->run->s.regs.events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
    vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
}

static int load_state_ioctls(hl__vm *vm, const kvm_state *st)
{
    struct kvm_vcpu_events events;
    memset(&events, 0, sizeof events);
    events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &st->sregs) < 0 ||
        ioctl(vm->vcpu_fd, KVM_SET_REGS, &st->regs) < 0 ||
        ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &events) < 0)
        return hl__fail(HL_EKVM, "loading vCPU state: %s", strerror(errno));
    return 0;
}

/* Registers and special registers, with no pending event. */
static int load_state(hl__vm *vm, const kvm_state *st)
{
    if (!kvm_sync_regs)
        return load_state_ioctls(vm, st);
    load_state_sync(vm, st);
    return 0;
}

/* A stored state goes in with the special registers rebuilt over KVM's reset state (only what a
 * guest can change comes from the state) and, with_fpu, its XSAVE image. */
int hl__vm_load_state(hl__vm *vm, const hl__vcpu_state *in, int with_fpu)
{
    static _Thread_local kvm_state st;
    struct kvm_sregs reset, sregs;
    memcpy(&st, in->bytes, sizeof st);
    int rc = hl__kvm_complete_io(vm);
    if (!rc)
        rc = initial_sregs(vm, &reset);
    if (rc)
        return rc;
    hl__kvm_state_rebuild(&st, &reset, &sregs);
    st.sregs = sregs;
    if (load_state(vm, &st))
        return HL_EKVM;
    if (with_fpu && ioctl(vm->vcpu_fd, KVM_SET_XSAVE, &st.xsave) < 0)
        return hl__fail(HL_EKVM, "KVM_SET_XSAVE: %s", strerror(errno));
    return 0;
}

int hl__vm_dirty_get(hl__vm *vm, uint64_t *bitmap)
{
    struct kvm_dirty_log log = {.slot = 0};
    log.dirty_bitmap = bitmap; /* KVM writes the whole bitmap */
    if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
        return hl__fail(HL_EKVM, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
    return 0;
}

int hl__vm_dirty_clear(hl__vm *vm, const uint64_t *bitmap)
{
    struct kvm_clear_dirty_log clear = {.slot = 0, .first_page = 0};
    clear.num_pages = (uint32_t)vm->npages;
    clear.dirty_bitmap = (void *)(uintptr_t)bitmap;
    if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
        return hl__fail(HL_EKVM, "KVM_CLEAR_DIRTY_LOG: %s", strerror(errno));
    return 0;
}

void hl__vm_kick_flag(hl__vm *vm)
{
    __atomic_store_n(&vm->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void hl__vm_clear_kick(hl__vm *vm)
{
    __atomic_store_n(&vm->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void hl__vm_destroy(hl__vm *vm)
{
    if (vm)
        close_vm(vm); /* also unmaps a range it kept */
}

int hl__vm_read_hidden(hl__vm *vm, hl__vcpu_hidden *out)
{
    struct kvm_debugregs dbg;
    struct kvm_vcpu_events ev;
    static _Thread_local struct kvm_xsave xsave;
    if (ioctl(vm->vcpu_fd, KVM_GET_DEBUGREGS, &dbg) < 0 ||
        ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0 ||
        ioctl(vm->vcpu_fd, KVM_GET_XSAVE, &xsave) < 0)
        return hl__fail(HL_EKVM, "reading hidden vCPU state: %s", strerror(errno));
    memset(out, 0, sizeof *out);
    out->dr6 = dbg.dr6;
    out->dr7 = dbg.dr7;
    out->dr0_3_or = dbg.db[0] | dbg.db[1] | dbg.db[2] | dbg.db[3];
    out->event_pending = ev.exception.injected || ev.exception.pending || ev.interrupt.injected ||
                         ev.nmi.injected || ev.nmi.pending || ev.smi.pending;
    out->interrupt_shadow = ev.interrupt.shadow != 0;
    memcpy(&out->mxcsr, (const uint8_t *)xsave.region + X86_FXSAVE_MXCSR, sizeof out->mxcsr);
    memcpy(&out->fcw, (const uint8_t *)xsave.region + X86_FXSAVE_FCW, sizeof out->fcw);
    return 0;
}
