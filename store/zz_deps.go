package store

// Blank imports keep the dependencies the store packages are being built on
// in go.mod until those packages import them; removed once they do.
import (
	_ "github.com/lestrrat-go/jwx/v3/jwk"
	_ "github.com/lestrrat-go/jwx/v3/jwt"
	_ "github.com/redis/go-redis/v9"
)
