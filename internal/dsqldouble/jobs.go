package dsqldouble

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sys.jobs as a real cluster shows it (golden index.json:sys_jobs_columns):
// job_id, status, details, job_type, class_id, object_id, object_name,
// start_time, update_time. An index build is job_type INDEX_BUILD with
// class_id 1259 (pg_class) and object_name public.<index>; statuses seen
// are submitted, processing and completed, and a completed job may carry
// an error in details (ndp3e4d2nveylnpth2nbbxfjli: completed, 'relation
// "public.baseline_idx" does not exist').
const sysJobsDDL = `CREATE SCHEMA IF NOT EXISTS sys;
CREATE TABLE IF NOT EXISTS sys.jobs (
    job_id text PRIMARY KEY,
    status text NOT NULL,
    details text,
    job_type text NOT NULL,
    class_id oid,
    object_id oid,
    object_name text,
    start_time timestamptz,
    update_time timestamptz)`

// job is one CREATE INDEX ASYNC.
type job struct {
	id   string
	ix   *indexAsync
	noop bool // IF NOT EXISTS found the index already there
	done chan struct{}
}

// jobs builds committed indexes one at a time, after their transaction,
// as a cluster's background job manager does, and records them in sys.jobs.
type jobs struct {
	admin   *pgxpool.Pool
	outcome func(index string) (status, details string)
	now     func() time.Time

	mu    sync.Mutex
	byID  map[string]*job
	queue chan *job
	quit  chan struct{}
	wg    sync.WaitGroup
}

func newJobs(admin *pgxpool.Pool, outcome func(string) (string, string), now func() time.Time) *jobs {
	j := &jobs{admin: admin, outcome: outcome, now: now, byID: map[string]*job{},
		queue: make(chan *job, 1024), quit: make(chan struct{})}
	j.wg.Add(1)
	go j.work()
	return j
}

// newJobID makes an id of the recorded form: 16 random bytes in lowercase
// base32 without padding, 26 characters.
func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func (j *jobs) newJob(ix *indexAsync, noop bool) *job {
	return &job{id: newJobID(), ix: ix, noop: noop, done: make(chan struct{})}
}

// submit records committed jobs as submitted and queues their builds.
func (j *jobs) submit(ctx context.Context, list []*job) error {
	for _, jb := range list {
		name := jb.ix.name
		if name != "" {
			name = "public." + name
		}
		if _, err := j.admin.Exec(ctx, `INSERT INTO sys.jobs (job_id, status, job_type, class_id, object_id, object_name, start_time)
            VALUES ($1, 'submitted', 'INDEX_BUILD', 1259, 0, NULLIF($2, ''), $3)`, jb.id, name, j.now()); err != nil {
			return fmt.Errorf("recording job %s: %w", jb.id, err)
		}
		j.mu.Lock()
		j.byID[jb.id] = jb
		j.mu.Unlock()
		select {
		case j.queue <- jb:
		case <-j.quit:
			return fmt.Errorf("the double is closing")
		}
	}
	return nil
}

// wait returns when job id has finished, or at once when no such job was
// committed here.
func (j *jobs) wait(ctx context.Context, id string) error {
	j.mu.Lock()
	jb := j.byID[id]
	j.mu.Unlock()
	if jb == nil {
		return nil
	}
	select {
	case <-jb.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-j.quit:
		return fmt.Errorf("the double is closing")
	}
}

func (j *jobs) work() {
	defer j.wg.Done()
	for {
		select {
		case <-j.quit:
			return
		case jb := <-j.queue:
			j.build(jb)
		}
	}
}

func (j *jobs) build(jb *job) {
	defer close(jb.done)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	set := func(status, details string) {
		_, _ = j.admin.Exec(ctx, `UPDATE sys.jobs SET status = $2, details = NULLIF($3, ''), update_time = $4,
            object_id = coalesce(to_regclass(object_name)::oid, 0) WHERE job_id = $1`, jb.id, status, details, j.now())
	}
	set("processing", "")
	status, details := "completed", ""
	if !jb.noop {
		if _, err := j.admin.Exec(ctx, jb.ix.build); err != nil {
			status, details = "failed", err.Error()
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				details = pgErr.Message
				if pgErr.Code == codeUndefinedTable {
					// A cluster records a build whose table is gone as
					// completed, the error in details (golden
					// index.json:sys_jobs_columns).
					status = "completed"
				}
			}
		}
	}
	if j.outcome != nil {
		if s, d := j.outcome(jb.ix.name); s != "" {
			status, details = s, d
		}
	}
	set(status, details)
}

func (j *jobs) close() {
	close(j.quit)
	j.wg.Wait()
}
