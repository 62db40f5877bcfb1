package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// keysCmd manages API keys through the admin API:
//
//	switchyard keys create --consumer NAME [--name N] [--models a,b] [--expires-in 720h]
//	switchyard keys list [--consumer NAME]
//	switchyard keys revoke ID
//	switchyard keys rotate ID [--grace 10m]
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, _ = fmt.Fprintln(stderr, "usage: switchyard keys create|list|revoke|rotate [flags] (see switchyard keys create -h)")
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", envOr("SWITCHYARD_ADMIN", defaultAdmin), "admin server address or URL; SWITCHYARD_ADMIN sets the default")
	token := fs.String("token", "", "admin token (default: SWITCHYARD_ADMIN_TOKEN)")
	var consumer, name, models, expiresIn, grace *string
	switch sub {
	case "create":
		consumer = fs.String("consumer", "", "the consumer the key belongs to (required)")
		name = fs.String("name", "", "a label for the key")
		models = fs.String("models", "", "comma-separated models the key may use (default: any)")
		expiresIn = fs.String("expires-in", "", "expire the key after this duration (720h)")
	case "list":
		consumer = fs.String("consumer", "", "list only this consumer's keys")
	case "revoke":
	case "rotate":
		grace = fs.String("grace", "", "keep the old key working for this long (default: revoke at once)")
	default:
		_, _ = fmt.Fprintf(stderr, "switchyard keys: unknown command %q: use create, list, revoke or rotate\n", sub)
		return errUsage
	}
	// The key id comes first (revoke ID, rotate ID --grace 1m) or after the flags.
	var id string
	if (sub == "revoke" || sub == "rotate") && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	if id == "" && fs.NArg() == 1 && (sub == "revoke" || sub == "rotate") {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "switchyard keys %s: unexpected argument %q\n", sub, fs.Arg(0))
		return errUsage
	}
	if (sub == "revoke" || sub == "rotate") && id == "" {
		_, _ = fmt.Fprintf(stderr, "switchyard keys %s: the key id is required (switchyard keys list shows it)\n", sub)
		return errUsage
	}
	c := adminClient{base: adminURL(*admin), token: *token}
	if c.token == "" {
		c.token = os.Getenv("SWITCHYARD_ADMIN_TOKEN")
	}
	switch sub {
	case "create":
		if *consumer == "" {
			_, _ = fmt.Fprintln(stderr, "switchyard keys create: --consumer is required")
			return errUsage
		}
		body := map[string]any{"consumer": *consumer, "name": *name, "expiresIn": *expiresIn}
		if *models != "" {
			body["models"] = strings.Split(*models, ",")
		}
		var out struct {
			ID, Key, Consumer string
			ExpiresAt         time.Time
		}
		if err := c.do(ctx, http.MethodPost, "/keys", body, &out); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "%s\n", out.Key)
		_, _ = fmt.Fprintf(stderr, "key %s for consumer %s created; it is shown only this once\n", out.ID, out.Consumer)
	case "list":
		q := ""
		if *consumer != "" {
			q = "?consumer=" + url.QueryEscape(*consumer)
		}
		var out struct {
			Keys []struct {
				ID, Prefix, Name, Consumer, Source string
				Models                             []string
				ExpiresAt, RevokedAt, CreatedAt    time.Time
			}
		}
		if err := c.do(ctx, http.MethodGet, "/keys"+q, nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		_, _ = fmt.Fprintln(tw, "ID\tCONSUMER\tPREFIX\tNAME\tMODELS\tEXPIRES\tREVOKED\tSOURCE")
		for _, k := range out.Keys {
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Consumer, dash(k.Prefix), dash(k.Name),
				dash(strings.Join(k.Models, ",")), when(k.ExpiresAt), when(k.RevokedAt), k.Source)
		}
		_ = tw.Flush()
	case "revoke":
		if err := c.do(ctx, http.MethodDelete, "/keys/"+url.PathEscape(id), nil, nil); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "key %s revoked\n", id)
	case "rotate":
		q := ""
		if *grace != "" {
			q = "?grace=" + url.QueryEscape(*grace)
		}
		var out struct {
			Key struct{ ID, Key string }
		}
		if err := c.do(ctx, http.MethodPost, "/keys/"+url.PathEscape(id)+"/rotate"+q, nil, &out); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "%s\n", out.Key.Key)
		_, _ = fmt.Fprintf(stderr, "key %s replaces %s; it is shown only this once\n", out.Key.ID, id)
	}
	return nil
}

// adminURL turns an address (127.0.0.1:15000) into a URL.
func adminURL(a string) string {
	if strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://") {
		return strings.TrimSuffix(a, "/")
	}
	return "http://" + a
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// adminClient calls the admin API.
type adminClient struct {
	base, token string
}

// do sends a JSON request and decodes a JSON answer into out (nil: ignored);
// an error answer becomes an error carrying the server's message.
func (c adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w (is the gateway running? --admin sets the address)", c.base, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("admin API: read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Message string }
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("admin API: %s (%d)", e.Error.Message, resp.StatusCode)
		}
		return fmt.Errorf("admin API: %s", resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin API: decode answer: %w", err)
		}
	}
	return nil
}
