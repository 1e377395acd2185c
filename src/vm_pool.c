/* vm_pool.c: recycling KVM VMs. Destroyed sandboxes leave their VM and vCPU here, parked with their
 * memory slot and its address range, for the next sandbox: creating and tearing down KVM VMs
 * dominates sandbox creation and destruction. Built on the backend's park/unpark (vmm.h). */
#include <pthread.h>
#include <stdlib.h>

#include "error.h"
#include "vmm.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static hl__vm *pool[HL_VM_POOL_MAX];
static unsigned pool_count, pool_limit = HL_VM_POOL_DEFAULT;

/* A pooled VM whose kept slot covers exactly `size` bytes (any size when size is 0), or NULL. */
static hl__vm *pool_take(size_t size)
{
    hl__vm *vm = NULL;
    pthread_mutex_lock(&pool_lock);
    for (unsigned i = pool_count; i-- > 0;) {
        if (size == 0 || hl__vm_kept_size(pool[i]) == size) {
            vm = pool[i];
            pool[i] = pool[--pool_count];
            break;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return vm;
}

static int pool_give(hl__vm *vm)
{
    int kept = 0;
    pthread_mutex_lock(&pool_lock);
    if (pool_count < pool_limit) {
        pool[pool_count++] = vm;
        kept = 1;
    }
    pthread_mutex_unlock(&pool_lock);
    return kept;
}

HL_API void hl_vm_pool_drain(void)
{
    for (hl__vm *vm; (vm = pool_take(0));)
        hl__vm_destroy(vm);
}

HL_API void hl_vm_pool_set_size(unsigned n)
{
    hl__vm *excess[HL_VM_POOL_MAX];
    unsigned nexcess = 0;
    pthread_mutex_lock(&pool_lock);
    pool_limit = n < HL_VM_POOL_MAX ? n : HL_VM_POOL_MAX;
    while (pool_count > pool_limit)
        excess[nexcess++] = pool[--pool_count];
    pthread_mutex_unlock(&pool_lock);
    while (nexcess)
        hl__vm_destroy(excess[--nexcess]);
}

int hl__vm_create(void *mem, size_t size, hl__vm **out)
{
    if (!hl__vmm_available())
        return HL_ENOKVM;
    hl__vm *vm = pool_take(0);
    if (!vm)
        return hl__vm_new(mem, size, out);
    int rc = hl__vm_reattach(vm, mem, size);
    if (rc) {
        hl__vm_destroy(vm);
        return rc;
    }
    *out = vm;
    return 0;
}

int hl__vm_acquire(size_t size, hl__mem *m, hl__vm **out)
{
    if (!hl__vmm_available())
        return HL_ENOKVM;
    hl__vm *vm = pool_take(size); /* same size: new memory in its range, the slot unchanged */
    if (vm && hl__vm_unpark(vm, m) == 0) {
        *out = vm;
        return 0;
    }
    hl__vm_destroy(vm);
    int rc = hl__mem_map(m, size);
    if (!rc && (rc = hl__vm_create(m->base, m->size, out)))
        hl__mem_unmap(m);
    return rc;
}

void hl__vm_release(hl__vm *vm, hl__mem *m)
{
    free(m->host_dirty);
    m->host_dirty = NULL;
    if (vm && hl__vm_park(vm, m) == 0 && pool_give(vm))
        return;
    hl__vm_destroy(vm);
    hl__mem_unmap(m);
}
