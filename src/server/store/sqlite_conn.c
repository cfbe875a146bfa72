/* SPDX-License-Identifier: ISC */
/*
 * The SQLite back end's connection (see sqlite_int.h).
 *
 * One database file in WAL mode and one connection for the whole
 * process (D33), opened on first use with SQLITE_OPEN_NOMUTEX and used
 * by one thread at a time under the store's lock (sq_enter(),
 * sq_leave()); a transaction holds the lock from BEGIN to COMMIT or
 * ROLLBACK.  Connections run with synchronous=NORMAL; a write counts
 * only once group commit has flushed the WAL, outside the lock (D22,
 * durable(), gsync.h).  Checkpoints run in the store's own thread
 * (D47).  Statements are prepared once, indexed by enum stmt, and reset
 * after each use; every value goes in as a bound parameter.
 * store_close() must only be called once the threads that used the
 * store have stopped using it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <anvil/err.h>

#include "sqlite_int.h"
#include "store_sqlite.h"

#include "internal.h"

/* Bytes of a path of the database's files (the WAL, -shm): PATH_MAX. */
#define SQ_PATH_MAX 4096
/* Holds a commit or rollback lets go: its own and BEGIN's. */
#define TXN_HOLDS 2

/*
 * Makes the WAL durable, as gsync_commit()'s flush: (re)opens it when
 * needed (never opened, or unlinked and recreated since) and
 * fdatasyncs it.  Never runs in two threads at once, but the next
 * leader can run it while the last one still reports its failure, so
 * the reason travels in the return value (-errno, D94), not in *s.
 */
static int
flush_wal(void *arg)
{
	struct sq *s = arg;
	char path[SQ_PATH_MAX];
	struct stat sb;

	if (s->walfd >= 0 && (fstat(s->walfd, &sb) != 0 || sb.st_nlink == 0)) {
		close(s->walfd);
		s->walfd = -1;
	}
	if (s->walfd < 0) {
		snprintf(path, sizeof(path), "%s-wal", s->path);
		s->walfd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (s->walfd >= 0 && fdatasync(s->walfd) == 0)
		return 0;
	return errno != 0 ? -errno : -EIO;
}

/*
 * Connections run with synchronous=NORMAL, so a commit in WAL mode only
 * writes; every write then comes here and returns only once its commit
 * is on disk (group commit, gsync.h), so no reply ever reports a change
 * that a power loss could take back.  After a crash SQLite drops WAL
 * frames that never reached the disk whole, so the database is the
 * state of the last flush.
 */
static int
durable(struct sq *s, struct acme_problem *prob)
{
	int rc = gsync_commit(&s->gs, flush_wal, s);

	if (rc != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: cannot sync %s-wal: %s", s->path, strerror(-rc));
	return 0;
}

/* Fills prob with SQLite's message for db; returns ACME_ERR_IO. */
int
sq_db_fail(sqlite3 *db, const char *what, struct acme_problem *prob)
{
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "database: %s: %s",
	    what, db != NULL ? sqlite3_errmsg(db) : "out of memory");
	return ACME_ERR_IO;
}

int
sq_oom(struct acme_problem *prob)
{
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
	return ACME_ERR_NOMEM;
}

/*
 * The database holds the EAB HMAC keys and every account: it and its
 * -wal and -shm are the owner's only, whatever the umask.  SQLite
 * creates -wal and -shm with the mode of the database file, so creating
 * that 0600 covers them; files an older anvil-ca left readable lose
 * their group and other bits.  Returns 0, or ACME_ERR_IO with prob set
 * when a file cannot be made private.
 */
static int
private_files(const char *path, struct acme_problem *prob)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[SQ_PATH_MAX];
	struct stat sb;
	size_t i;
	int fd;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	/*
	 * Only a file that does not exist is opened here: closing any
	 * descriptor of a database file would drop the POSIX locks this
	 * process's SQLite connections hold on it.
	 */
	if (stat(path, &sb) != 0 && errno == ENOENT &&
	    (fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	for (i = 0; i < ACME_ARRAY_LEN(suffix); i++) {
		if (snprintf(p, sizeof(p), "%s%s", path, suffix[i]) >=
			(int)sizeof(p) ||
		    stat(p, &sb) != 0 || (sb.st_mode & 077) == 0)
			continue;
		if (chmod(p, sb.st_mode & 07700) != 0)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "database: cannot make %s private: %s", p,
			    strerror(errno));
	}
	return 0;
}

/*
 * Opens path with the pragmas every connection needs: WAL (checked: a
 * file system without shared memory would silently keep the rollback
 * journal), synchronous=NORMAL (durability comes from the group commit
 * in durable()), a 5 s busy timeout and foreign keys.  A new database
 * gets 1 KiB pages (D42): every commit writes each page it touched to
 * the WAL, and ACME rows are a few hundred bytes, so 4 KiB pages wrote
 * 2.8x the bytes per issuance.  The pragma only takes effect before
 * the first page is written; an existing database keeps its size.
 * Returns 0 with *out set, or ACME_ERR_IO with prob set.
 */
static int
open_db(const char *path, sqlite3 **out, struct acme_problem *prob)
{
	static const char pragmas[] = "PRAGMA page_size = 1024;"
				      "PRAGMA busy_timeout = 5000;"
				      "PRAGMA synchronous = NORMAL;"
				      "PRAGMA foreign_keys = ON;";
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	const unsigned char *mode;
	int rc = ACME_ERR_IO;

	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		sq_db_fail(db, path, prob);
		goto out;
	}
	if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		sq_db_fail(db, "pragmas", prob);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &q, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		sq_db_fail(db, "journal_mode", prob);
		goto out;
	}
	mode = sqlite3_column_text(q, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: %s: cannot use WAL mode", path);
		goto out;
	}
	*out = db;
	db = NULL;
	rc = 0;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}

static void
conn_free(struct conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

/*
 * How deep the calling thread is in the store's lock (0: it does not
 * hold it); a store operation inside a transaction nests.  Per thread,
 * so no thread ever reads another's.
 */
static _Thread_local int held;

/* Takes the connection for a store operation (or a transaction). */
void
sq_enter(struct sq *s)
{
	if (held++ == 0)
		pthread_mutex_lock(&s->lock);
}

/*
 * Ends what sq_enter() began; levels: 1, or 2 where COMMIT or ROLLBACK also
 * ends BEGIN's hold.  When the lock goes, a write made under it is
 * flushed (durable()) outside it, so other threads use the connection
 * while this one waits for the disk.  Returns rc, or durable()'s error.
 */
int
sq_leave(struct sq *s, int levels, int rc, struct acme_problem *prob)
{
	int flush;

	held -= levels;
	if (held > 0)
		return rc;
	flush = s->unflushed;
	s->unflushed = 0;
	pthread_mutex_unlock(&s->lock);
	if (flush && rc == 0)
		rc = durable(s, prob);
	return rc;
}

/* SQLite's own automatic checkpoint threshold, in WAL pages. */
#define CKPT_PAGES 1000
#define CKPT_LIMIT (3 * CKPT_PAGES)

/*
 * The connection's WAL hook, after each commit, with the WAL's size in
 * pages: past CKPT_PAGES the checkpoint thread is woken.  Taking over
 * the hook turns SQLite's automatic checkpoint off for the connection.
 * The WAL only starts over when a commit finds all of it copied, which
 * under writes without a pause the thread may never let it see; past
 * CKPT_LIMIT the commit checkpoints itself, as SQLite's own would, so
 * the WAL stays bounded (the thread has copied most of it by then).
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq *s = arg;

	if (pages >= CKPT_LIMIT) {
		if (sqlite3_wal_checkpoint_v2(db, name,
			SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_BUSY)
			return SQLITE_OK;
		/*
		 * Busy: the thread is copying (or another process is).
		 * Wait for the thread's checkpoint to end and take over,
		 * else the WAL would grow for as long as that one lasts.
		 */
		pthread_mutex_lock(&s->ck_lock);
		while (s->ck_running)
			pthread_cond_wait(&s->ck_cond, &s->ck_lock);
		pthread_mutex_unlock(&s->ck_lock);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
		return SQLITE_OK;
	}
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->ck_lock);
		if (!s->ck_want) {
			s->ck_want = 1;
			/* store_sqlite_checkpoints() may wait on it too. */
			pthread_cond_broadcast(&s->ck_cond);
		}
		pthread_mutex_unlock(&s->ck_lock);
	}
	return SQLITE_OK;
}

/*
 * The checkpoint thread: a PASSIVE checkpoint on keeper each time one is
 * asked for.  It copies what no reader still needs into the database
 * and never waits for a writer, so the WAL keeps being written meanwhile
 * and starts over from its beginning once a checkpoint got all of it.
 */
static void *
checkpointer(void *arg)
{
	struct sq *s = arg;

	pthread_mutex_lock(&s->ck_lock);
	while (!s->ck_stop) {
		if (!s->ck_want) {
			pthread_cond_wait(&s->ck_cond, &s->ck_lock);
			continue;
		}
		s->ck_want = 0;
		s->ck_running = 1;
		pthread_mutex_unlock(&s->ck_lock);
		sqlite3_wal_checkpoint_v2(s->keeper, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->ck_lock);
		s->ck_running = 0;
		s->ck_done++;
		pthread_cond_broadcast(&s->ck_cond);
	}
	pthread_mutex_unlock(&s->ck_lock);
	return NULL;
}

/* The connection, opened on first use; NULL with prob set. */
static struct conn *
conn_get(struct sq *s, struct acme_problem *prob)
{
	struct conn *c = s->conn;

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		sq_oom(prob);
		return NULL;
	}
	if (open_db(s->path, &c->db, prob) != 0) {
		free(c);
		return NULL;
	}
	if (s->ck_started)
		sqlite3_wal_hook(c->db, wal_hook, s);
	return s->conn = c;
}

/*
 * The prepared statement id on the connection, reset and with
 * its parameters bound from types: 's' text (NULL binds NULL), 'i'
 * long long, 'b' blob (pointer, size_t length).  Returns NULL with prob
 * set on failure; the callers then return ACME_ERR_IO.
 */
sqlite3_stmt *
sq_prep(struct store *st, enum stmt id, struct acme_problem *prob,
    const char *types, ...)
{
	struct sq *s = (struct sq *)st;
	struct conn *c = conn_get(s, prob);
	sqlite3_stmt *q;
	va_list ap;
	int i, rc = SQLITE_OK;

	if (c == NULL)
		return NULL;
	if (c->st[id] == NULL &&
	    sqlite3_prepare_v3(c->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		&c->st[id], NULL) != SQLITE_OK) {
		sq_db_fail(c->db, "prepare", prob);
		return NULL;
	}
	q = c->st[id];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	va_start(ap, types);
	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			if (v != NULL)
				rc = sqlite3_bind_text(q, i + 1, v, -1,
				    SQLITE_TRANSIENT);
			else
				rc = sqlite3_bind_null(q, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(q, i + 1,
			    (sqlite3_int64)va_arg(ap, long long));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = n > INT32_MAX ? SQLITE_TOOBIG :
					     sqlite3_bind_blob(q, i + 1, p,
						 (int)n, SQLITE_TRANSIENT);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sq_db_fail(c->db, "bind", prob);
		sqlite3_clear_bindings(q);
		return NULL;
	}
	/* Every caller runs what it prepared: one statement (D84). */
	store_count_roundtrip(st);
	return q;
}

/*
 * Steps write statement q to completion; autowrite: it is a write
 * outside a transaction, which must reach the disk (durable(), when the
 * lock goes) before it counts.  Returns 0, ACME_ERR_EXISTS on a
 * unique or primary key conflict, or ACME_ERR_IO with prob set.
 */
static int
step_write(struct store *st, sqlite3_stmt *q, int autowrite,
    struct acme_problem *prob)
{
	struct sq *s = (struct sq *)st;
	sqlite3 *db;
	int rc, ext;

	if (q == NULL)
		return ACME_ERR_IO;
	db = sqlite3_db_handle(q);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		if (autowrite)
			s->unflushed = 1;
		sqlite3_reset(q);
		return 0;
	}
	ext = sqlite3_extended_errcode(db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE ||
	    ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = ACME_ERR_EXISTS;
	else
		rc = sq_db_fail(db, "write", prob);
	sqlite3_reset(q);
	return rc;
}

/* Runs a write statement (in a transaction or on its own). */
int
sq_run(struct store *st, sqlite3_stmt *q, struct acme_problem *prob)
{
	return step_write(st, q,
	    q != NULL && !sqlite3_stmt_readonly(q) &&
		sqlite3_get_autocommit(sqlite3_db_handle(q)),
	    prob);
}

/*
 * BEGIN keeps the connection's lock (sq_enter()) until COMMIT or ROLLBACK,
 * so this process's writers queue on a mutex instead of polling
 * SQLite's busy handler; a commit then waits for its flush outside the
 * lock (sq_leave()).  A failed COMMIT keeps it for the ROLLBACK.
 */
int
sq_begin(struct store *st, struct acme_problem *prob)
{
	struct sq *s = (struct sq *)st;
	int rc;

	sq_enter(s);
	rc = step_write(st, sq_prep(st, S_BEGIN, prob, ""), 0, prob);
	return rc != 0 ? sq_leave(s, 1, rc, prob) : 0;
}

int
sq_commit(struct store *st, struct acme_problem *prob)
{
	struct sq *s = (struct sq *)st;
	int rc;

	sq_enter(s);
	rc = step_write(st, sq_prep(st, S_COMMIT, prob, ""), 0, prob);
	/* COMMIT counts as read-only to SQLite; it is the write here. */
	if (rc == 0)
		s->unflushed = 1;
	return sq_leave(s, rc == 0 ? TXN_HOLDS : 1, rc, prob);
}

void
sq_rollback(struct store *st)
{
	struct sq *s = (struct sq *)st;

	sq_enter(s);
	step_write(st, sq_prep(st, S_ROLLBACK, NULL, ""), 0, NULL);
	/* BEGIN's hold too, unless BEGIN itself failed (and let it go). */
	sq_leave(s, held > 1 ? TXN_HOLDS : 1, 0, NULL);
}

/*
 * A read of more than one statement in one read transaction, unless one
 * is open already: one snapshot for all of it, and one WAL read lock
 * (two fcntl calls) instead of one per statement.  Returns whether it
 * began one, for sq_read_end(); a failed BEGIN only costs the saving.
 */
int
sq_read_begin(struct store *st)
{
	sqlite3_stmt *q = sq_prep(st, S_BEGIN_READ, NULL, "");

	if (q == NULL || !sqlite3_get_autocommit(sqlite3_db_handle(q)))
		return 0;
	return step_write(st, q, 0, NULL) == 0;
}

/* Ends what sq_read_begin() began (a read-only COMMIT: nothing to flush). */
void
sq_read_end(struct store *st, int began)
{
	if (began)
		step_write(st, sq_prep(st, S_COMMIT, NULL, ""), 0, NULL);
}

unsigned long
store_sqlite_checkpoints(struct store *st, unsigned long after, int timeout_s)
{
	struct sq *s = (struct sq *)st;
	struct timespec until;
	unsigned long n;

	if (!s->ck_started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&s->ck_lock);
	while (s->ck_done <= after &&
	       pthread_cond_timedwait(&s->ck_cond, &s->ck_lock, &until) == 0)
		;
	n = s->ck_done;
	pthread_mutex_unlock(&s->ck_lock);
	return n;
}

int
store_sqlite_migrate_to(const char *path, int version,
    struct acme_problem *prob)
{
	sqlite3 *db = NULL;
	int rc;

	if ((rc = open_db(path, &db, prob)) == 0)
		rc = sq_migrate(db, version, prob);
	sqlite3_close(db);
	return rc;
}

void
sq_close(struct store *st)
{
	struct sq *s = (struct sq *)st;

	if (s->ck_started) {
		pthread_mutex_lock(&s->ck_lock);
		s->ck_stop = 1;
		pthread_cond_broadcast(&s->ck_cond);
		pthread_mutex_unlock(&s->ck_lock);
		pthread_join(s->ck_thread, NULL);
		pthread_cond_destroy(&s->ck_cond);
		pthread_mutex_destroy(&s->ck_lock);
	}
	conn_free(s->conn);
	pthread_mutex_destroy(&s->lock);
	gsync_destroy(&s->gs);
	if (s->walfd >= 0)
		close(s->walfd);
	sqlite3_close(s->keeper);
	free(s->path);
	free(s);
}

struct store *
store_sqlite_open(const char *path, struct acme_problem *prob)
{
	struct sq *s = NULL;
	sqlite3 *db = NULL;
	int haslock = 0;
	struct store *ret = NULL;

	if (sqlite3_threadsafe() == 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: SQLite was built without thread support");
		goto out;
	}
	if (private_files(path, prob) != 0 || open_db(path, &db, prob) != 0 ||
	    sq_migrate(db, sq_schema_newest, prob) != 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		sq_oom(prob);
		goto out;
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		sq_oom(prob);
		goto out;
	}
	haslock = 1;
	if (gsync_init(&s->gs) != 0) {
		sq_oom(prob);
		goto out;
	}
	s->walfd = -1;
	s->keeper = db;
	db = NULL;
	s->base.ops = &sq_ops;
	/* Without the thread the connection keeps SQLite's checkpoints. */
	if (pthread_mutex_init(&s->ck_lock, NULL) == 0) {
		if (pthread_cond_init(&s->ck_cond, NULL) != 0)
			pthread_mutex_destroy(&s->ck_lock);
		else if (pthread_create(&s->ck_thread, NULL, checkpointer, s) !=
			 0) {
			pthread_cond_destroy(&s->ck_cond);
			pthread_mutex_destroy(&s->ck_lock);
		} else
			s->ck_started = 1;
	}
	/* The migrations committed without a flush; flush them now (and
	 * learn at once if the WAL cannot be synced). */
	if (durable(s, prob) != 0) {
		sq_close(&s->base);
		s = NULL;
		goto out;
	}
	ret = &s->base;
	s = NULL;
out:
	sqlite3_close(db);
	if (s != NULL) {
		if (haslock)
			pthread_mutex_destroy(&s->lock);
		free(s->path);
		free(s);
	}
	return ret;
}
