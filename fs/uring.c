/*
 * uring.c - the FUSE-over-io_uring transport: per-queue worker threads that take a request
 * from their ring entry, run it to its reply in the same thread, and commit the reply with
 * the command that fetches the next request.
 *
 * Protocol (the kernel's fs/fuse/dev_uring.c, ABI 7.42; Debian 12's <linux/fuse.h> is older,
 * so the few structures are declared here):
 *  - the kernel has one queue per possible CPU and sends a request to the queue of the CPU
 *    its caller runs on; it switches to the rings only once every queue has an entry;
 *  - an entry is registered by an IORING_OP_URING_CMD (SQE128) on /dev/fuse, command
 *    REGISTER, with two iovecs: a 288-byte header block (in_out: fuse_in_header in,
 *    fuse_out_header out; op_in: the opcode's fixed argument, the request's first argument;
 *    ring_ent_in_out: commit id and payload size) and a payload buffer at least as large as
 *    the connection's largest request;
 *  - the command completes when a request has been copied into the entry; the daemon answers
 *    with a COMMIT_AND_FETCH command naming the commit id (the request's unique), which
 *    copies the reply out and re-arms the entry.
 *
 * Threading: a worker owns one io_uring and one entry; `per_queue` workers serve each queue,
 * pinned to that queue's CPU where possible. A worker never hands a request to another
 * thread: it lays the request out contiguously (header and op_in are copied into the room
 * reserved in front of the payload, so the payload itself is not copied) and gives it to
 * libfuse's fuse_session_process_buf(), whose handler replies through devio's writev, which
 * calls fs_uring_reply(): the reply is copied into the entry of the worker whose in-flight
 * unique matches. A reply made later from another thread is handed over under the worker's
 * mutex; the worker waits for it before committing.
 *
 * Polling (-o uring_poll=US, default 0): after a reply the worker submits the commit without
 * waiting and spins up to US microseconds for the next request (reading the ring's
 * IORING_SQ_TASKRUN flag, entering the kernel only when the kernel has queued one) before it
 * sleeps in io_uring_enter as usual. Measured on a loaded 2-CPU machine it did not pay:
 * the request still costs the daemon one context switch (a worker pinned to the caller's
 * CPU is preempted by the woken caller instead of sleeping) and the spin is added CPU time;
 * see docs/BENCHMARKS.md. -o uring_nopin lets workers float instead of being pinned.
 *
 * Invariants: a worker's entry is in exactly one of: not registered, armed in the kernel,
 * or in-flight (w->inflight != 0) until its reply has been captured; w->inflight is set
 * before the request is processed and cleared before the commit is submitted; fs_uring_reply
 * writes an entry's buffers only while that entry is in flight and unreplied.
 */
#include "fs.h"
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- the kernel's io_uring ABI for FUSE (7.42), as laid out by the kernel ---- */
enum { URING_IN_OUT_SZ = 128, URING_OP_IN_SZ = 128 };
enum { URING_CMD_REGISTER = 1, URING_CMD_COMMIT_AND_FETCH = 2 };

struct uring_ent_in_out {
    uint64_t flags;
    uint64_t commit_id;     /* the request's unique; named by the commit */
    uint32_t payload_sz;    /* bytes used in the payload buffer, either direction */
    uint32_t padding;
    uint64_t reserved;
};

struct uring_req_header {
    char in_out[URING_IN_OUT_SZ];   /* fuse_in_header in, fuse_out_header out */
    char op_in[URING_OP_IN_SZ];     /* the opcode's first (fixed-size) argument */
    struct uring_ent_in_out ent;
};

struct uring_cmd_req {              /* in the SQE128's 80-byte command area */
    uint64_t flags;
    uint64_t commit_id;
    uint16_t qid;
    uint8_t padding[6];
};

_Static_assert(sizeof(struct uring_req_header) == 288, "fuse_uring_req_header layout");
_Static_assert(sizeof(struct uring_cmd_req) == 24, "fuse_uring_cmd_req layout");

/* Room in front of the payload for the in-header and op_in, so a request is contiguous. */
#define FRONT 4096u
/* How long an idle worker sleeps in the kernel before it looks at the stop flag. */
#define IDLE_WAIT_NS 500000000LL

typedef struct worker {
    fs_uring_t *u;
    unsigned qid;
    pthread_t th;
    int started;                    /* th is valid */
    struct io_uring ring;
    int ring_ok;
    struct uring_req_header *hdr;   /* iov[0] of the entry */
    char *buf;                      /* FRONT bytes, then the payload (iov[1]) */
    struct iovec iov[2];
    _Atomic uint64_t inflight;      /* unique of the request being served, 0 if none */
    atomic_int replied;
    pthread_mutex_t mu;             /* for replies made by another thread */
    pthread_cond_t cv;
    atomic_uint_fast64_t served;
    atomic_uint_fast64_t polled;    /* requests found by the busy poll (no sleep) */
} worker_t;

struct fs_uring {
    struct fuse_session *se;
    int devfd;
    size_t payload;
    unsigned nqueues, per_queue, nworkers;
    long long poll_ns;              /* busy-poll budget after a commit; 0 = block at once */
    int pin;                        /* pin each worker to its queue's CPU */
    worker_t *w;
    pthread_mutex_t mu;             /* guards the fields below */
    pthread_cond_t cv;
    int ready_count, setup_err;     /* workers that made their ring; first failure */
    int go;                         /* 1 once INIT was answered with io_uring */
    int registered;
    atomic_int stop;
};

/* Number of possible CPUs (the kernel's queue count): the highest index in
 * /sys/devices/system/cpu/possible, plus one. */
static unsigned possible_cpus(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
    unsigned max = 0;
    if (f) {
        char line[256];
        if (fgets(line, sizeof(line), f)) {
            for (char *p = line; *p;) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p)
                    break;
                if (v > max)
                    max = (unsigned)v;
                p = end;
                while (*p == '-' || *p == ',' || *p == '\n')
                    p++;
            }
        }
        fclose(f);
        return max + 1;
    }
    long n = sysconf(_SC_NPROCESSORS_CONF);
    return n > 0 ? (unsigned)n : 1;
}

/* Queues one FUSE command on the worker's ring (never full: one command at a time). */
static void prep_cmd(worker_t *w, unsigned op, uint64_t commit_id)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe)
        abort(); /* a worker has at most one command outstanding on a 4-entry ring */
    memset(sqe, 0, 2 * sizeof(*sqe)); /* SQE128: the command area runs into the next slot */
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = w->u->devfd;
    sqe->cmd_op = op;
    sqe->user_data = (uintptr_t)w;
    if (op == URING_CMD_REGISTER) {
        sqe->addr = (uintptr_t)w->iov;
        sqe->len = 2;
    }
    struct uring_cmd_req req = {.commit_id = commit_id, .qid = (uint16_t)w->qid};
    memcpy(sqe->cmd, &req, sizeof(req));
}

static int ring_init(worker_t *w)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
              IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    int r = io_uring_queue_init_params(4, &w->ring, &p);
    if (r == -EINVAL) { /* an older kernel without the task-run flags */
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_SQE128;
        r = io_uring_queue_init_params(4, &w->ring, &p);
    }
    return r;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Submits what is queued (the commit of the last reply, which also re-arms the entry) and
 * spins up to the poll budget for the next request. With deferred task run the kernel
 * hands a request over as task work that only runs when this thread enters the kernel;
 * it raises IORING_SQ_TASKRUN in the shared ring flags when there is some, so the spin
 * reads memory and enters the kernel (GETEVENTS, no wait) only when a request is there.
 * Returns the completion, or NULL when the budget ran out (or on a submit error: the
 * blocking wait reports it). */
static struct io_uring_cqe *poll_next(worker_t *w)
{
    struct io_uring_cqe *cqe = NULL;
    if (io_uring_submit(&w->ring) < 0)
        return NULL;
    long long deadline = now_ns() + w->u->poll_ns;
    for (unsigned spin = 0;; spin++) {
        if (io_uring_cq_ready(&w->ring) && io_uring_peek_cqe(&w->ring, &cqe) == 0)
            return cqe;
        if (IO_URING_READ_ONCE(*w->ring.sq.kflags) & IORING_SQ_TASKRUN) {
            (void)io_uring_get_events(&w->ring);
            continue;
        }
        if ((spin & 15) == 0 && (now_ns() >= deadline || atomic_load(&w->u->stop)))
            return NULL;
        cpu_relax();
    }
}

static void pin_to_queue_cpu(worker_t *w)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->qid, &set);
    /* fails for a possible-but-offline CPU: then the worker floats, which is fine */
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Waits for fs_uring_start (or stop). Returns 1 to register, 0 to quit. */
static int wait_for_go(fs_uring_t *u)
{
    pthread_mutex_lock(&u->mu);
    while (u->go == 0 && !atomic_load(&u->stop))
        pthread_cond_wait(&u->cv, &u->mu);
    int go = u->go && !atomic_load(&u->stop);
    pthread_mutex_unlock(&u->mu);
    return go;
}

static void note_ring_made(fs_uring_t *u, int err)
{
    pthread_mutex_lock(&u->mu);
    u->ready_count++;
    if (err && !u->setup_err)
        u->setup_err = err;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

/* Serves the request that the entry's completion carried; returns once the reply has been
 * captured into the entry. */
static void serve(worker_t *w)
{
    struct fuse_in_header h;
    memcpy(&h, w->hdr->in_out, sizeof(h));
    uint32_t payload_sz = w->hdr->ent.payload_sz;
    size_t fixed = sizeof(h) + payload_sz;
    if (h.len < fixed || h.len - fixed > URING_OP_IN_SZ || payload_sz > w->u->payload ||
        h.unique == 0) {
        /* Not a request this protocol can produce: answer EIO so the caller is not stuck. */
        fuse_log(FUSE_LOG_ERR, "lsmfs: io_uring: malformed request (opcode %u, len %u, "
                 "payload %u); answered EIO\n", h.opcode, h.len, payload_sz);
        struct fuse_out_header oh = {.len = sizeof(oh), .error = -EIO, .unique = h.unique};
        memcpy(w->hdr->in_out, &oh, sizeof(oh));
        w->hdr->ent.payload_sz = 0;
        return;
    }
    size_t opsz = h.len - fixed;
    char *start = w->buf + FRONT - opsz - sizeof(h);
    memcpy(start, &h, sizeof(h));
    memcpy(start + sizeof(h), w->hdr->op_in, opsz);

    atomic_store_explicit(&w->replied, 0, memory_order_relaxed);
    atomic_store_explicit(&w->inflight, h.unique, memory_order_release);
    struct fuse_buf fb = {.mem = start, .size = h.len};
    fuse_session_process_buf(w->u->se, &fb);
    if (!atomic_load_explicit(&w->replied, memory_order_acquire)) {
        /* the handler keeps the request for a reply from another thread */
        pthread_mutex_lock(&w->mu);
        while (!atomic_load_explicit(&w->replied, memory_order_acquire))
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    atomic_store_explicit(&w->inflight, 0, memory_order_release);
    atomic_fetch_add_explicit(&w->served, 1, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    fs_uring_t *u = w->u;
    if (u->pin)
        pin_to_queue_cpu(w);
    int r = ring_init(w);
    w->ring_ok = r == 0;
    note_ring_made(u, r);
    if (r != 0 || !wait_for_go(u))
        return NULL;

    prep_cmd(w, URING_CMD_REGISTER, 0);
    int registering = 1, reregisters = 0; /* registering: no request seen since REGISTER */
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = IDLE_WAIT_NS};
    while (!atomic_load(&u->stop)) {
        struct io_uring_cqe *cqe = NULL;
        if (u->poll_ns && !registering && (cqe = poll_next(w)) != NULL) {
            atomic_fetch_add_explicit(&w->polled, 1, memory_order_relaxed);
            r = 0;
        } else {
            r = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
        }
        if (r == -ETIME || r == -EINTR || r == -EAGAIN || (r >= 0 && !cqe))
            continue;
        if (r < 0) {
            fuse_log(FUSE_LOG_ERR, "lsmfs: io_uring: queue %u: wait: %s\n", w->qid,
                     strerror(-r));
            break;
        }
        int res = cqe->res;
        io_uring_cqe_seen(&w->ring, cqe);
        if (res < 0) {
            /* ENOTCONN/ECONNABORTED: the connection is gone (unmount); anything else on a
             * commit means the kernel dropped the entry: register it again. */
            if (res == -ENOTCONN || res == -ECONNABORTED || res == -ENODEV ||
                registering || ++reregisters > 16) {
                if (res != -ENOTCONN && res != -ECONNABORTED && res != -ENODEV)
                    fuse_log(FUSE_LOG_ERR, "lsmfs: io_uring: queue %u: %s: %s\n", w->qid,
                             registering ? "register" : "commit", strerror(-res));
                break;
            }
            prep_cmd(w, URING_CMD_REGISTER, 0);
            registering = 1;
            continue;
        }
        if (registering) {
            registering = 0;
            pthread_mutex_lock(&u->mu);
            u->registered++;
            pthread_mutex_unlock(&u->mu);
        }
        serve(w);
        prep_cmd(w, URING_CMD_COMMIT_AND_FETCH, w->hdr->ent.commit_id);
    }
    return NULL;
}

static int worker_alloc(fs_uring_t *u, worker_t *w, unsigned qid)
{
    w->u = u;
    w->qid = qid;
    atomic_init(&w->inflight, 0);
    atomic_init(&w->replied, 0);
    atomic_init(&w->served, 0);
    atomic_init(&w->polled, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->hdr = aligned_alloc(4096, 4096);
    size_t len = FRONT + u->payload;
    void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!w->hdr || buf == MAP_FAILED)
        return -ENOMEM;
    memset(w->hdr, 0, 4096);
    w->buf = buf;
    w->iov[0] = (struct iovec){.iov_base = w->hdr, .iov_len = sizeof(*w->hdr)};
    w->iov[1] = (struct iovec){.iov_base = w->buf + FRONT, .iov_len = u->payload};
    return 0;
}

static void worker_free(fs_uring_t *u, worker_t *w)
{
    if (w->ring_ok)
        io_uring_queue_exit(&w->ring);
    free(w->hdr);
    if (w->buf)
        munmap(w->buf, FRONT + u->payload);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

int fs_uring_setup(fs_uring_t **out, struct fuse_session *se, int devfd,
                   const fs_uring_conf_t *conf, size_t payload)
{
    unsigned per_queue = conf->per_queue;
    *out = NULL;
    fs_uring_t *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->se = se;
    u->devfd = devfd;
    u->payload = (payload + 4095) & ~(size_t)4095;
    u->nqueues = possible_cpus();
    u->per_queue = per_queue ? per_queue : 1;
    u->nworkers = u->nqueues * u->per_queue;
    u->poll_ns = (long long)conf->poll_us * 1000;
    u->pin = !conf->nopin;
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    atomic_init(&u->stop, 0);
    u->w = calloc(u->nworkers, sizeof(worker_t));
    int r = u->w ? 0 : -ENOMEM;
    unsigned made = 0;
    for (; r == 0 && made < u->nworkers; made++) {
        worker_t *w = &u->w[made];
        r = worker_alloc(u, w, made / u->per_queue);
        if (r == 0) {
            r = -pthread_create(&w->th, NULL, worker_main, w);
            w->started = r == 0;
        }
    }
    if (r == 0) { /* each worker makes its own ring (single issuer): wait for them all */
        pthread_mutex_lock(&u->mu);
        while (u->ready_count < (int)u->nworkers)
            pthread_cond_wait(&u->cv, &u->mu);
        r = u->setup_err;
        pthread_mutex_unlock(&u->mu);
    }
    if (r != 0) {
        u->nworkers = made;
        fs_uring_stop(u);
        return r;
    }
    *out = u;
    return 0;
}

void fs_uring_start(fs_uring_t *u)
{
    pthread_mutex_lock(&u->mu);
    u->go = 1;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    fuse_log(FUSE_LOG_INFO, "lsmfs: FUSE-over-io_uring negotiated: %u queues x %u workers\n",
             u->nqueues, u->per_queue);
}

ssize_t fs_uring_reply(fs_uring_t *u, const struct iovec *iov, int count)
{
    if (count < 1 || iov[0].iov_len != sizeof(struct fuse_out_header))
        return 0;
    struct fuse_out_header oh;
    memcpy(&oh, iov[0].iov_base, sizeof(oh));
    if (oh.unique == 0)
        return 0; /* a notification: /dev/fuse */
    for (unsigned i = 0; i < u->nworkers; i++) {
        worker_t *w = &u->w[i];
        if (atomic_load_explicit(&w->inflight, memory_order_acquire) != oh.unique ||
            atomic_load_explicit(&w->replied, memory_order_relaxed))
            continue;
        size_t total = 0;
        for (int k = 1; k < count; k++) {
            if (total + iov[k].iov_len > u->payload) {
                fuse_log(FUSE_LOG_ERR, "lsmfs: io_uring: a %zu-byte reply does not fit "
                         "the %zu-byte ring buffer; answered EIO\n",
                         total + iov[k].iov_len, u->payload);
                oh.error = -EIO;
                total = 0;
                break;
            }
            memcpy(w->buf + FRONT + total, iov[k].iov_base, iov[k].iov_len);
            total += iov[k].iov_len;
        }
        oh.len = (uint32_t)(sizeof(oh) + total);
        memcpy(w->hdr->in_out, &oh, sizeof(oh));
        w->hdr->ent.payload_sz = (uint32_t)total;
        if (pthread_equal(pthread_self(), w->th)) {
            atomic_store_explicit(&w->replied, 1, memory_order_release);
        } else {
            pthread_mutex_lock(&w->mu);
            atomic_store_explicit(&w->replied, 1, memory_order_release);
            pthread_cond_signal(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
        return (ssize_t)(sizeof(oh) + total);
    }
    return 0;
}

int fs_uring_is_worker(fs_uring_t *u)
{
    if (!u)
        return 0;
    pthread_t self = pthread_self();
    for (unsigned i = 0; i < u->nworkers; i++)
        if (u->w[i].started && pthread_equal(self, u->w[i].th))
            return 1;
    return 0;
}

void fs_uring_quiesce(fs_uring_t *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->mu);
    atomic_store(&u->stop, 1);
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    for (unsigned i = 0; i < u->nworkers; i++)
        if (u->w[i].started) {
            pthread_join(u->w[i].th, NULL);
            u->w[i].started = 0;
        }
}

void fs_uring_stop(fs_uring_t *u)
{
    if (!u)
        return;
    fs_uring_quiesce(u);
    for (unsigned i = 0; i < u->nworkers; i++)
        worker_free(u, &u->w[i]);
    free(u->w);
    pthread_mutex_destroy(&u->mu);
    pthread_cond_destroy(&u->cv);
    free(u);
}

void fs_uring_info(fs_uring_t *u, fs_uring_info_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!u)
        return;
    for (unsigned i = 0; i < u->nworkers; i++) {
        out->requests += atomic_load_explicit(&u->w[i].served, memory_order_relaxed);
        out->polled += atomic_load_explicit(&u->w[i].polled, memory_order_relaxed);
    }
    out->queues = u->nqueues;
    out->per_queue = u->per_queue;
    pthread_mutex_lock(&u->mu);
    out->registered = u->registered >= (int)u->nworkers;
    pthread_mutex_unlock(&u->mu);
}
