/* floor_spin.h: the floor of a hot sandbox's doorbell: a raw-KVM CPL3 guest (floor_vm_setup_spin)
 * spins on a word of shared memory on one CPU, its vCPU run by a thread of its own, while the
 * calling thread, pinned to another CPU, writes a sequence number and waits for the guest to echo
 * it. No VM exit happens between floor_spin_start and floor_spin_stop. */
#ifndef HL_BENCH_FLOOR_SPIN_H
#define HL_BENCH_FLOOR_SPIN_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "floor_kvm.h"

typedef struct floor_spin {
    floor_vm vm;
    pthread_t vcpu_thread;
    int vm_made;           /* vm was created */
    int started;           /* vcpu_thread is running */
    uint32_t vcpu_done;    /* atomic: the vCPU thread's KVM_RUN has returned */
    int vcpu_rc;           /* and its result (0: the guest left on FLOOR_SPIN_STOP) */
    char error[256];       /* why the last call failed (floor_spin_error) */
    cpu_set_t caller_mask; /* the calling thread's CPUs before floor_spin_start pinned it */
    int caller_pinned;
    uint64_t seq; /* the last number written */
} floor_spin;

/* Creates the VM (floor_kvm_open must have succeeded), pins the calling thread to host_cpu and
 * starts the vCPU thread on guest_cpu, then waits for the guest's first answer. Returns 0, or -1
 * (floor_spin_error); on failure too, floor_spin_stop undoes what was done. */
int floor_spin_start(floor_spin *s, int host_cpu, int guest_cpu);

/* Writes the next sequence number and spins until the guest echoes it: one round trip. Returns 0,
 * or -1 (floor_spin_error) when the guest stopped or did not answer within a second. */
int floor_spin_round_trip(floor_spin *s);

/* Why the last floor_spin_* call failed. */
const char *floor_spin_error(const floor_spin *s);

/* Tells the guest to leave, joins the vCPU thread, destroys the VM and gives the calling thread its
 * CPUs back. Safe after a failed floor_spin_start and on a zeroed floor_spin. */
void floor_spin_stop(floor_spin *s);

#endif
