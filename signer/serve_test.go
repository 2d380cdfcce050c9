package signer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/idledger/idledger/signer/internal/pluginwire"
)

func TestServePlugin(t *testing.T) {
	k := installPlugin(t, "ok")
	h := &fakePlugin{mode: "ok", key: k.key, cert: k.cert}
	in := strings.Join([]string{
		`{"type":"hello","versions":[3,1],"future_field":true}`,
		`{"type":"get-ca-certificate","id":1}`,
		`{"type":"get-certificate","id":2}`,
		`{"type":"bye"}`,
		`{"type":"get-certificate","id":3}`,
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := ServePlugin(context.Background(), h, strings.NewReader(in), &out, ServeOptions{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	r := pluginwire.NewReader(&out)
	var got []string
	for {
		m, err := r.ReadMsg()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%s/%d/%s", m.Type, m.ID, m.Code))
	}
	want := []string{"hello-ok/0/", "error/1/unsupported", "certificate/2/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}

	// A client offering only other versions is refused.
	out.Reset()
	err := ServePlugin(context.Background(), h, strings.NewReader(`{"type":"hello","versions":[2]}`+"\n"), &out, ServeOptions{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(out.String(), `"code":"unsupported"`) {
		t.Fatalf("got %v, %s", err, out.String())
	}
	// A first message other than hello is a protocol error.
	err = ServePlugin(context.Background(), h, strings.NewReader(`{"type":"get-certificate","id":1}`+"\n"), io.Discard, ServeOptions{})
	if !errors.Is(err, ErrPluginProtocol) {
		t.Fatalf("got %v", err)
	}
}
