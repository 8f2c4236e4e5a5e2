package testpg

import (
	"context"
	"errors"
	"os"

	"github.com/jackc/pgx/v5"
)

// Standalone is a throw-away PostgreSQL server for programs that are not tests
// (hotrow bench): the same server the tests get, started in a temporary
// directory and removed by Stop.
type Standalone struct{ s *server }

// Start starts a server with the binaries in binDir (DefaultBinDir when
// empty).
func Start(binDir string) (*Standalone, error) {
	if binDir != "" {
		// start reads the directory from the environment, as tests set it.
		prev, had := os.LookupEnv("HOTROW_PG_BIN")
		os.Setenv("HOTROW_PG_BIN", binDir)
		defer func() {
			if had {
				os.Setenv("HOTROW_PG_BIN", prev)
			} else {
				os.Unsetenv("HOTROW_PG_BIN")
			}
		}()
	}
	s, missing, err := start()
	if missing != "" {
		return nil, errors.New("PostgreSQL 15 is not installed: " + missing + "; install it with: " + installAdvice)
	}
	if err != nil {
		return nil, err
	}
	return &Standalone{s: s}, nil
}

// CreateDB creates an empty database and returns its URL.
func (s *Standalone) CreateDB(ctx context.Context, name string) (string, error) {
	if err := s.s.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return s.s.dsn(name), nil
}

// Stop shuts the server down and removes its directory.
func (s *Standalone) Stop() error { return s.s.stop() }
