/* test_memory.c: guest memory access, layout, page-table flags and the host's buffer-stack pops. */
#include "bstack.h"
#include "doorbell.h"
#include "guest_mem.h"
#include "harness.h"
#include "layout.h"
#include "paging.h"
#include "x86.h"

static hl__elf pie_elf(void)
{
    hl__elf e;
    memset(&e, 0, sizeof e);
    e.is_pie = 1;
    e.align = 4096;
    e.span = 3 * 4096;
    e.nsegments = 3;
    e.seg[0] = (hl__elf_segment){0x0000, 0x800, 0x800, 0x1000, HL_PROT_R | HL_PROT_X};
    e.seg[1] = (hl__elf_segment){0x1000, 0x100, 0x100, 0x2000, HL_PROT_R};
    e.seg[2] = (hl__elf_segment){0x2000, 0x900, 0x10, 0x3000, HL_PROT_R | HL_PROT_W};
    return e;
}

TEST(layout_orders_regions_and_keeps_page_zero_unmapped)
{
    hl_config cfg;
    hl__layout l;
    hl__elf e = pie_elf();
    hl_config_init(&cfg);
    CHECK_EQ(hl__layout_compute(&cfg, &e, &l), 0);
    CHECK_U64_EQ(l.r[HL_R_PEB].gpa, 0x1000);
    for (int i = 1; i < HL_R_COUNT; i++)
        CHECK(l.r[i].gpa >= l.r[i - 1].gpa + l.r[i - 1].size);
    CHECK_EQ(hl__layout_find(&l, 0), HL_R_COUNT);
    CHECK_EQ(hl__layout_find(&l, l.r[HL_R_HEAP].gpa), HL_R_HEAP);
    CHECK_EQ(l.r[HL_R_STACK].gpa - (l.r[HL_R_HEAP].gpa + l.r[HL_R_HEAP].size), 4096);
    CHECK(l.npt * 2 * 1024 * 1024 >= l.total);
    CHECK_U64_EQ(l.total, l.r[HL_R_PAGE_TABLES].gpa + l.r[HL_R_PAGE_TABLES].size);
}

TEST(layout_rejects_too_much_memory_and_colliding_fixed_images)
{
    hl_config cfg;
    hl__layout l;
    hl__elf e = pie_elf();
    hl_config_init(&cfg);
    cfg.heap_size = HL_MAX_HEAP_SIZE;
    cfg.stack_size = HL_MAX_STACK_SIZE;
    CHECK_EQ(hl__layout_compute(&cfg, &e, &l), HL_ECONFIG);
    CHECK_CONTAINS(hl_last_error(), "guest memory would need");
    hl_config_init(&cfg);
    e.is_pie = 0;
    e.link_base = 0x10000;
    CHECK_EQ(hl__layout_compute(&cfg, &e, &l), HL_EELF);
    CHECK_CONTAINS(hl_last_error(), "overlaps the runtime regions");
}

TEST(page_flags_follow_regions_and_segments)
{
    hl_config cfg;
    hl__layout l;
    hl__elf e = pie_elf();
    hl_config_init(&cfg);
    CHECK_EQ(hl__layout_compute(&cfg, &e, &l), 0);
    hl_gpa img = l.r[HL_R_IMAGE].gpa;
    CHECK_U64_EQ(hl__paging_flags(&l, &e, 0), 0);
    uint64_t text = hl__paging_flags(&l, &e, img), ro = hl__paging_flags(&l, &e, img + 0x1000),
             rw = hl__paging_flags(&l, &e, img + 0x2000);
    CHECK((text & X86_PTE_US) && !(text & X86_PTE_RW) && !(text & X86_PTE_NX));
    CHECK((ro & X86_PTE_US) && !(ro & X86_PTE_RW) && (ro & X86_PTE_NX));
    CHECK((rw & X86_PTE_US) && (rw & X86_PTE_RW) && (rw & X86_PTE_NX));
    uint64_t peb = hl__paging_flags(&l, &e, l.r[HL_R_PEB].gpa);
    CHECK((peb & X86_PTE_US) && !(peb & X86_PTE_RW));
    uint64_t bell = hl__paging_flags(&l, &e, l.r[HL_R_DOORBELL].gpa);
    CHECK((bell & X86_PTE_US) && (bell & X86_PTE_RW) && (bell & X86_PTE_NX));
    CHECK_U64_EQ(l.r[HL_R_DOORBELL].size, 4096);
    CHECK_U64_EQ(hl__paging_flags(&l, &e, l.r[HL_R_STACK].gpa - 4096), 0); /* guard */
    CHECK_U64_EQ(hl__paging_flags(&l, &e, l.pml4), 0);                     /* page tables */
    uint64_t idt = hl__paging_flags(&l, &e, l.idt), stub = hl__paging_flags(&l, &e, l.stub);
    CHECK(!(idt & X86_PTE_US) && !(stub & X86_PTE_US) && !(stub & X86_PTE_RW));
}

TEST(doorbell_decodes_only_the_expected_number_with_a_request_port)
{
    uint16_t port = 0;
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_DONE << 32 | 5, 5, &port), HL_BELL_REQUEST);
    CHECK_EQ(port, HL_ABI_PORT_DONE);
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_HOST_CALL << 32 | 6, 6, &port), HL_BELL_REQUEST);
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_LOG << 32 | 0, 0, &port), HL_BELL_REQUEST);
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_DONE << 32 | 4, 5, &port), HL_BELL_NONE);
    CHECK_EQ(hl__bell_decode(0, 1, &port), HL_BELL_NONE);
    /* the expected number with anything but a request port is a protocol error */
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_ABORT << 32 | 5, 5, &port), HL_BELL_BAD);
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_EXCEPTION << 32 | 5, 5, &port), HL_BELL_BAD);
    CHECK_EQ(hl__bell_decode((uint64_t)HL_ABI_PORT_PARK << 32 | 5, 5, &port), HL_BELL_BAD);
    CHECK_EQ(hl__bell_decode(1ull << 48 | (uint64_t)HL_ABI_PORT_DONE << 32 | 5, 5, &port),
             HL_BELL_BAD);
    CHECK_EQ(hl__bell_decode(UINT64_MAX, UINT32_MAX, &port), HL_BELL_BAD);
}

TEST(doorbell_words_are_atomic_aligned_and_bounded)
{
    hl__mem m;
    uint64_t dirty[1] = {0}, v;
    CHECK_EQ(hl__mem_map(&m, 2 * 4096), 0);
    m.host_dirty = dirty;
    CHECK_EQ(hl__doorbell_answer(&m, 4096, 42), 0);
    CHECK_U64_EQ(dirty[0], 2); /* page 1: a host write, copied back by restores */
    CHECK_EQ(hl__doorbell_read(&m, 4096, &v), 0);
    CHECK_U64_EQ(v, 0);                                /* the guest's word is not the host's */
    CHECK_EQ(hl__doorbell_read(&m, 4100, &v), -1);     /* misaligned */
    CHECK_EQ(hl__doorbell_read(&m, 2 * 4096, &v), -1); /* outside */
    CHECK_EQ(hl__doorbell_set_spin(&m, UINT64_MAX - 7, 1), -1);
    m.host_dirty = NULL;
    hl__mem_unmap(&m);
}

TEST(memory_accessors_check_bounds)
{
    hl__mem m;
    uint64_t v = 0;
    CHECK_EQ(hl__mem_map(&m, 8192), 0);
    CHECK_EQ(hl__mem_write_u64(&m, 8184, 7), 0);
    CHECK_EQ(hl__mem_read_u64(&m, 8184, &v), 0);
    CHECK_EQ(v, 7);
    CHECK_EQ(hl__mem_read_u64(&m, 8185, &v), -1);
    CHECK_EQ(hl__mem_read_u64(&m, UINT64_MAX - 3, &v), -1);
    CHECK_EQ(hl__mem_write(&m, 0, &v, 0), 0);
    CHECK(hl__mem_setup_ptr(&m, 8192, 1) == NULL);
    hl__mem_unmap(&m);
}

static hl__mem mem;
static hl__region reg = {4096, 256};

static void setup_stack(void)
{
    CHECK_EQ(hl__mem_map(&mem, 3 * 4096), 0);
    CHECK_EQ(hl__bstack_reset(&mem, reg), 0);
}

static const char *pop_why(void)
{
    uint8_t out[256];
    size_t n;
    const char *why = "ok";
    (void)hl__bstack_pop(&mem, reg, out, sizeof out, &n, &why);
    return why;
}

TEST(stack_push_pop_nested)
{
    const char *why;
    uint8_t out[64];
    size_t n;
    setup_stack();
    CHECK_EQ(hl__bstack_push(&mem, reg, "abc", 3, &why), 0);
    CHECK_EQ(hl__bstack_push(&mem, reg, "hello", 5, &why), 0);
    CHECK_EQ(hl__bstack_pop(&mem, reg, out, sizeof out, &n, &why), 0);
    CHECK_EQ(n, 5);
    CHECK_MEMEQ(out, "hello", 5);
    CHECK_EQ(hl__bstack_pop(&mem, reg, out, sizeof out, &n, &why), 0);
    CHECK_EQ(n, 3);
    CHECK_STREQ(pop_why(), "the buffer is empty");
}

TEST(stack_pop_rejects_corruption)
{
    const char *why;
    setup_stack();
    hl__mem_write_u64(&mem, reg.gpa, reg.size + 8);
    CHECK_STREQ(pop_why(), "stack pointer outside its buffer");
    hl__mem_write_u64(&mem, reg.gpa, 64);
    hl__mem_write_u64(&mem, reg.gpa + 56, 60); /* back-pointer past sp - 9 */
    CHECK_STREQ(pop_why(), "back-pointer outside the stack");
    hl__mem_write_u64(&mem, reg.gpa + 56, 2); /* inside the sp word */
    CHECK_STREQ(pop_why(), "back-pointer outside the stack");
    hl__mem_write_u64(&mem, reg.gpa + 56, 56); /* loop onto itself: zero length */
    CHECK_STREQ(pop_why(), "back-pointer outside the stack");
    hl__mem_write_u64(&mem, reg.gpa, UINT64_MAX);
    CHECK_STREQ(pop_why(), "stack pointer outside its buffer");
    hl__mem_write_u64(&mem, reg.gpa, 250);
    CHECK_EQ(hl__bstack_push(&mem, reg, "x", 1, &why), -1);
    CHECK_STREQ(why, "no room in the buffer");
}

TEST(stack_pop_respects_host_capacity)
{
    const char *why;
    uint8_t out[4];
    size_t n;
    setup_stack();
    CHECK_EQ(hl__bstack_push(&mem, reg, "toolong", 7, &why), 0);
    CHECK_EQ(hl__bstack_pop(&mem, reg, out, sizeof out, &n, &why), -1);
    CHECK_STREQ(why, "element larger than the host's buffer");
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(layout_orders_regions_and_keeps_page_zero_unmapped),
        TEST_ENTRY(layout_rejects_too_much_memory_and_colliding_fixed_images),
        TEST_ENTRY(page_flags_follow_regions_and_segments),
        TEST_ENTRY(doorbell_decodes_only_the_expected_number_with_a_request_port),
        TEST_ENTRY(doorbell_words_are_atomic_aligned_and_bounded),
        TEST_ENTRY(memory_accessors_check_bounds),
        TEST_ENTRY(stack_push_pop_nested),
        TEST_ENTRY(stack_pop_rejects_corruption),
        TEST_ENTRY(stack_pop_respects_host_capacity),
    };
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
