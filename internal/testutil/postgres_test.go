package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartPostgres(t *testing.T) {
	p := StartPostgres(t)
	query := func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1)")
		return err
	}
	db := p.NewDatabase(t)
	if err := query(db); err != nil {
		t.Fatalf("query a new database: %v", err)
	}
	p.Stop()
	if err := query(db); err == nil {
		t.Fatal("a stopped server answered")
	}
	p.Start()
	if err := query(db); err != nil {
		t.Fatalf("query after restart: %v", err)
	}
}
