/* floor_kvm.c: the smallest KVM program that runs a guest at CPL3 and exits with `out`, written
 * against the raw KVM API (Documentation/virt/kvm/api.rst) so its timings are floors the library
 * cannot beat. It mirrors what src/cpu.c and src/paging.c set up, minus everything the floor does
 * not need: no ELF, no PEB, no buffers, no exception stub (a fault would triple-fault and end the
 * run with KVM_EXIT_SHUTDOWN, which floor_vm_exit reports as an error). Like the library, CPL3
 * reaches its port through the TSS I/O bitmap with RFLAGS.IOPL = 0. The same VM can instead run
 * a guest that spins on a shared page (floor_vm_setup_spin; floor_spin.c runs it), the floor of a
 * hot sandbox's doorbell. */
#include "floor_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Guest-physical layout (identity-mapped, 4 KiB pages). */
#define PAGE 0x1000u
#define FLOOR_MEM_SIZE (16u * PAGE)
#define GPA_PML4 0x1000u
#define GPA_PDPT 0x2000u
#define GPA_PD 0x3000u
#define GPA_PT 0x4000u
#define GPA_GDT 0x5000u /* GDT, then the TSS at +0x100 */
#define GPA_TSS (GPA_GDT + 0x100u)
#define GPA_IDT 0x6000u
#define GPA_CODE 0x7000u
#define GPA_STACK 0x8000u     /* user stack page */
#define GPA_KSTACK 0x9000u    /* ring-0 stack page (TSS.RSP0) */
#define GPA_SHARED 0xA000u    /* the spinning guest's page: host word at +0, guest word at +64 */
#define SHARED_GUEST_WORD 64u /* its own cache line, as in the library's doorbell (abi.h) */

/* x86 bits (Intel SDM vol. 3: 2.5 control registers, 4.5 paging, 3.4.5 descriptors, 7.7 TSS). */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_NX (1ull << 63)
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA (0x18 | 3)
#define SEL_UCODE (0x20 | 3)
#define SEL_TSS 0x28
/* TR's type as loaded: busy (11), as VMX requires; make vm-test's emulated SVM wants available
 * (9) and passes it, as for the library (src/x86.h). */
#ifndef X86_TYPE_TSS64_LOADED
#define X86_TYPE_TSS64_LOADED 0xb
#endif
#define TSS_SIZE 104u
#define TSS_RSP0 4u
#define TSS_IOMAP_BASE 102u
#define IOMAP_BYTES (256u / 8 + 1) /* ports 0..255, then the required 0xff byte */
#define FLOOR_PORT 0xE0u           /* the library's DONE port */

static int kvm_fd = -1;
static long kvm_run_size;
static _Thread_local char error_text[256];

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return -1;
}

const char *floor_kvm_error(void)
{
    return error_text;
}

int floor_kvm_open(void)
{
    if (kvm_fd >= 0)
        return 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail("/dev/kvm: %s", strerror(errno));
    kvm_run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION || kvm_run_size <= 0) {
        close(fd);
        return fail("/dev/kvm: unexpected API version or kvm_run size");
    }
    kvm_fd = fd;
    return 0;
}

int floor_vm_create(floor_vm *v)
{
    memset(v, 0, sizeof *v);
    v->vcpu_fd = -1;
    v->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (v->vm_fd < 0)
        return fail("KVM_CREATE_VM: %s", strerror(errno));
    v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
    if (v->vcpu_fd < 0) {
        int e = errno;
        floor_vm_destroy(v);
        return fail("KVM_CREATE_VCPU: %s", strerror(e));
    }
    v->run_size = (size_t)kvm_run_size;
    void *run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
    if (run == MAP_FAILED) {
        int e = errno;
        floor_vm_destroy(v);
        return fail("mmap kvm_run: %s", strerror(e));
    }
    v->run = run;
    return 0;
}

void floor_vm_destroy(floor_vm *v)
{
    if (v->run)
        munmap(v->run, v->run_size);
    if (v->vcpu_fd >= 0)
        close(v->vcpu_fd);
    if (v->vm_fd >= 0)
        close(v->vm_fd);
    if (v->mem)
        munmap(v->mem, FLOOR_MEM_SIZE);
    memset(v, 0, sizeof *v);
    v->vm_fd = v->vcpu_fd = -1;
}

static void put64(uint8_t *mem, uint64_t gpa, uint64_t value)
{
    memcpy(mem + gpa, &value, 8);
}

static void write_page_tables(uint8_t *mem)
{
    const uint64_t table = PTE_P | PTE_RW | PTE_US;
    put64(mem, GPA_PML4, GPA_PDPT | table);
    put64(mem, GPA_PDPT, GPA_PD | table);
    put64(mem, GPA_PD, GPA_PT | table);
    put64(mem, GPA_PT + 8 * (GPA_GDT / PAGE), GPA_GDT | PTE_P | PTE_RW | PTE_A | PTE_NX);
    put64(mem, GPA_PT + 8 * (GPA_IDT / PAGE), GPA_IDT | PTE_P | PTE_RW | PTE_A | PTE_NX);
    put64(mem, GPA_PT + 8 * (GPA_CODE / PAGE), GPA_CODE | PTE_P | PTE_US | PTE_A);
    put64(mem, GPA_PT + 8 * (GPA_STACK / PAGE),
          GPA_STACK | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_NX);
    put64(mem, GPA_PT + 8 * (GPA_KSTACK / PAGE), GPA_KSTACK | PTE_P | PTE_RW | PTE_A | PTE_NX);
}

static uint64_t flat_descriptor(uint8_t access, int code64)
{
    uint64_t flags = code64 ? 0xa : 0xc; /* G=1 and L=1 (64-bit code) or D/B=1 (data) */
    return 0xffffull | ((uint64_t)access << 40) | (0xfull << 48) | (flags << 52);
}

static void write_gdt_tss(uint8_t *mem)
{
    uint64_t limit = TSS_SIZE + IOMAP_BYTES - 1, base = GPA_TSS;
    put64(mem, GPA_GDT + SEL_KCODE, flat_descriptor(0x9b, 1));
    put64(mem, GPA_GDT + SEL_KDATA, flat_descriptor(0x93, 0));
    put64(mem, GPA_GDT + (SEL_UDATA & ~3), flat_descriptor(0xf3, 0));
    put64(mem, GPA_GDT + (SEL_UCODE & ~3), flat_descriptor(0xfb, 1));
    put64(mem, GPA_GDT + SEL_TSS,
          (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
              (((limit >> 16) & 0xf) << 48) | ((base >> 24) << 56));
    put64(mem, GPA_GDT + SEL_TSS + 8, base >> 32);
    put64(mem, GPA_TSS + TSS_RSP0, GPA_KSTACK + PAGE);
    uint16_t iomap = TSS_SIZE;
    memcpy(mem + GPA_TSS + TSS_IOMAP_BASE, &iomap, 2);
    uint8_t *bitmap = mem + GPA_TSS + TSS_SIZE;
    memset(bitmap, 0xff, IOMAP_BYTES);
    for (unsigned port = FLOOR_PORT; port < FLOOR_PORT + 4; port++)
        bitmap[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

/* What runs at CPL3: its code and the registers it reads (everything else starts at 0). */
typedef struct guest_program {
    const uint8_t *code;
    size_t len;
    uint64_t rbx, rsi;
    int shared_page; /* map GPA_SHARED (user, writable) */
} guest_program;

/* The exit floor's guest: 1: out dx, eax; jmp 1b */
static const uint8_t exit_loop[] = {0xef, 0xeb, 0xfd};

/* The spinning guest (rbx = GPA_SHARED, rcx = last value seen, rsi = FLOOR_SPIN_STOP). It pauses
 * between looks, as the library's guest and host do while they spin (guest/doorbell.c).
 *   1: mov rax, [rbx]        48 8b 03
 *      cmp rax, rcx          48 39 c8
 *      je 2f                 74 0d
 *      mov rcx, rax          48 89 c1
 *      mov [rbx + 64], rax   48 89 43 40     the echo
 *      cmp rax, rsi          48 39 f0
 *      jne 2f                75 01
 *      out dx, eax           ef              FLOOR_SPIN_STOP: leave the VM
 *   2: pause                 f3 90
 *      jmp 1b                eb e7 */
static const uint8_t spin_loop[] = {0x48, 0x8b, 0x03, 0x48, 0x39, 0xc8, 0x74, 0x0d, 0x48,
                                    0x89, 0xc1, 0x48, 0x89, 0x43, 0x40, 0x48, 0x39, 0xf0,
                                    0x75, 0x01, 0xef, 0xf3, 0x90, 0xeb, 0xe7};

static void write_memory(uint8_t *mem, const guest_program *p)
{
    write_page_tables(mem);
    if (p->shared_page)
        put64(mem, GPA_PT + 8 * (GPA_SHARED / PAGE),
              GPA_SHARED | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_NX);
    write_gdt_tss(mem);
    /* The IDT page stays zero: no gate is present, so any exception ends in a triple fault. */
    memcpy(mem + GPA_CODE, p->code, p->len);
}

static struct kvm_segment segment(uint16_t sel, uint8_t type, uint8_t dpl, int code)
{
    struct kvm_segment s = {.base = 0,
                            .limit = 0xffffffff,
                            .selector = sel,
                            .type = type,
                            .present = 1,
                            .dpl = dpl,
                            .db = code ? 0 : 1,
                            .s = 1,
                            .l = code ? 1 : 0,
                            .g = 1};
    return s;
}

static int load_registers(floor_vm *v, const guest_program *p)
{
    struct kvm_sregs s;
    if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &s) < 0)
        return fail("KVM_GET_SREGS: %s", strerror(errno));
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr3 = GPA_PML4;
    s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    s.efer = EFER_LME | EFER_LMA | EFER_NXE;
    s.cs = segment(SEL_UCODE, 0xb, 3, 1);
    s.ss = s.ds = s.es = s.fs = s.gs = segment(SEL_UDATA, 0x3, 3, 0);
    struct kvm_segment tr = {.base = GPA_TSS,
                             .limit = TSS_SIZE + IOMAP_BYTES - 1,
                             .selector = SEL_TSS,
                             .type = X86_TYPE_TSS64_LOADED,
                             .present = 1};
    s.tr = tr;
    s.gdt.base = GPA_GDT;
    s.gdt.limit = 7 * 8 - 1;
    s.idt.base = GPA_IDT;
    s.idt.limit = 32 * 16 - 1;
    if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &s) < 0)
        return fail("KVM_SET_SREGS: %s", strerror(errno));
    struct kvm_regs r = {.rip = GPA_CODE,
                         .rsp = GPA_STACK + PAGE,
                         .rdx = FLOOR_PORT,
                         .rbx = p->rbx,
                         .rsi = p->rsi,
                         .rflags = 0x2 /* IOPL = 0: the I/O bitmap decides */};
    if (ioctl(v->vcpu_fd, KVM_SET_REGS, &r) < 0)
        return fail("KVM_SET_REGS: %s", strerror(errno));
    return 0;
}

static int setup(floor_vm *v, const guest_program *p)
{
    void *mem = mmap(NULL, FLOOR_MEM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return fail("mmap guest memory: %s", strerror(errno));
    v->mem = mem;
    write_memory(v->mem, p);
    struct kvm_userspace_memory_region slot = {.slot = 0,
                                               .guest_phys_addr = 0,
                                               .memory_size = FLOOR_MEM_SIZE,
                                               .userspace_addr = (uint64_t)(uintptr_t)v->mem};
    if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
    return load_registers(v, p);
}

int floor_vm_setup(floor_vm *v)
{
    const guest_program p = {exit_loop, sizeof exit_loop, 0, 0, 0};
    return setup(v, &p);
}

int floor_vm_setup_spin(floor_vm *v)
{
    const guest_program p = {spin_loop, sizeof spin_loop, GPA_SHARED, FLOOR_SPIN_STOP, 1};
    return setup(v, &p);
}

uint64_t *floor_vm_host_word(floor_vm *v)
{
    return (uint64_t *)(void *)(v->mem + GPA_SHARED);
}

const uint64_t *floor_vm_guest_word(const floor_vm *v)
{
    return (const uint64_t *)(const void *)(v->mem + GPA_SHARED + SHARED_GUEST_WORD);
}

int floor_vm_exit(floor_vm *v)
{
    if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0)
        return fail("KVM_RUN: %s", strerror(errno));
    const struct kvm_run *r = v->run;
    if (r->exit_reason != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_OUT ||
        r->io.port != FLOOR_PORT)
        return fail("floor guest stopped with exit reason %u instead of `out` to port 0x%x",
                    r->exit_reason, FLOOR_PORT);
    return 0;
}
