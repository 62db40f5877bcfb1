package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// errSpoolFull is returned by spool.append for the records that did not fit.
var errSpoolFull = errors.New("usage spool full")

// spoolSegmentBytes is the size at which the spool starts a new segment
// file; a segment is replayed (read whole) and deleted as a unit.
const spoolSegmentBytes = 4 << 20

// spool is the recorder's on-disk queue: usage records as JSON lines in
// numbered segment files ("000000000001.jsonl", ...), appended and fsync'ed
// a batch at a time, replayed oldest first and deleted only once written.
// It is safe for concurrent use.
type spool struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	segs    []spoolSeg // oldest first; the last one may be open for appending
	w       *os.File   // the open (newest) segment, or nil
	next    uint64     // number of the next segment to create
	bytes   int64      // total bytes of all segments
	records int64      // total records of all segments
}

type spoolSeg struct {
	num     uint64
	bytes   int64
	records int64
}

// openSpool opens (creating) the spool directory and takes stock of the
// segments a previous run left there.
func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("usage spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("usage spool: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, next: 1}
	for _, e := range entries {
		var num uint64
		if _, err := fmt.Sscanf(e.Name(), "%d.jsonl", &num); err != nil || !strings.HasSuffix(e.Name(), ".jsonl") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("usage spool: %w", err)
		}
		seg := spoolSeg{num: num, bytes: int64(len(b)), records: int64(bytes.Count(b, []byte{'\n'}))}
		s.segs = append(s.segs, seg)
		s.bytes += seg.bytes
		s.records += seg.records
		s.next = max(s.next, num+1)
	}
	slices.SortFunc(s.segs, func(a, b spoolSeg) int { return cmpU64(a.num, b.num) })
	return s, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *spool) path(num uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%012d.jsonl", num))
}

// append writes as many of batch as fit under maxBytes, fsync'ed, and
// returns how many it wrote; err is errSpoolFull when some did not fit.
// Records are encoded before the lock is taken.
func (s *spool) append(batch []Record) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	var buf bytes.Buffer
	ends := make([]int, 0, len(batch)) // where each record's line ends in buf
	for i := range batch {
		line, err := json.Marshal(&batch[i])
		if err != nil {
			return 0, fmt.Errorf("usage spool: encode: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
		ends = append(ends, buf.Len())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.maxBytes - s.bytes
	n, _ := slices.BinarySearchFunc(ends, room, func(end int, room int64) int {
		if int64(end) <= room {
			return -1
		}
		return 1
	}) // ends[:n] fit
	if n > 0 {
		if err := s.write(buf.Bytes()[:ends[n-1]], int64(n)); err != nil {
			return 0, err
		}
	}
	if n < len(batch) {
		return n, errSpoolFull
	}
	return n, nil
}

// write appends data (records lines) to the open segment, starting a new
// one when there is none or it is full. s.mu is held.
func (s *spool) write(data []byte, records int64) error {
	if s.w != nil && s.segs[len(s.segs)-1].bytes >= spoolSegmentBytes {
		s.closeWriter()
	}
	if s.w == nil {
		num := s.next
		f, err := os.OpenFile(s.path(num), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("usage spool: %w", err)
		}
		s.next++
		s.w = f
		s.segs = append(s.segs, spoolSeg{num: num})
		syncDir(s.dir)
	}
	seg := &s.segs[len(s.segs)-1]
	if _, err := s.w.Write(data); err != nil {
		s.closeWriter() // a torn line is skipped on replay
		return fmt.Errorf("usage spool: write: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		s.closeWriter()
		return fmt.Errorf("usage spool: sync: %w", err)
	}
	seg.bytes += int64(len(data))
	seg.records += records
	s.bytes += int64(len(data))
	s.records += records
	return nil
}

func (s *spool) closeWriter() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
}

// oldest reads the oldest segment, closing it for appends first, and
// returns its number and records (lines that do not decode, such as one
// torn by a crash, are skipped). ok is false when the spool is empty.
func (s *spool) oldest() (num uint64, recs []Record, ok bool, err error) {
	s.mu.Lock()
	if len(s.segs) == 0 {
		s.mu.Unlock()
		return 0, nil, false, nil
	}
	if len(s.segs) == 1 {
		s.closeWriter()
	}
	num = s.segs[0].num
	s.mu.Unlock()

	f, err := os.Open(s.path(num))
	if err != nil {
		return num, nil, true, fmt.Errorf("usage spool: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.ID != "" {
			recs = append(recs, r)
		}
	}
	if err := sc.Err(); err != nil {
		return num, recs, true, fmt.Errorf("usage spool: read: %w", err)
	}
	return num, recs, true, nil
}

// quarantine renames segment num aside (*.bad), out of the queue, and
// returns how many records it held.
func (s *spool) quarantine(num uint64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.segs, func(g spoolSeg) bool { return g.num == num })
	if i < 0 {
		return 0
	}
	if i == len(s.segs)-1 {
		s.closeWriter()
	}
	_ = os.Rename(s.path(num), s.path(num)+".bad")
	n := s.segs[i].records
	s.forget(i)
	return n
}

// forget drops segment i from the bookkeeping. s.mu is held.
func (s *spool) forget(i int) {
	s.bytes -= s.segs[i].bytes
	s.records -= s.segs[i].records
	s.segs = slices.Delete(s.segs, i, i+1)
}

// remove deletes segment num, once its records are written. The segment
// leaves the queue even when the file cannot be deleted (the next run then
// replays it, harmlessly).
func (s *spool) remove(num uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.segs, func(g spoolSeg) bool { return g.num == num })
	if i < 0 {
		return nil
	}
	if i == len(s.segs)-1 {
		s.closeWriter()
	}
	s.forget(i)
	if err := os.Remove(s.path(num)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("usage spool: %w", err)
	}
	return nil
}

// size returns the records and bytes on disk.
func (s *spool) size() (records, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.bytes
}

func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeWriter()
}

// syncDir fsyncs a directory so that a new file's entry survives a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
