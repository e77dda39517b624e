package svgvec_test

// These tests call a running svgvec server; test/clients/go.test.ts starts one
// and runs them inside `npm test`. Without SVGVEC_TEST_ADDRESS they skip.
//
//	SVGVEC_TEST_ADDRESS      host:port of a plaintext server on loopback
//	SVGVEC_TEST_TOKEN        the bearer token that server requires (optional)
//	SVGVEC_TEST_DOG_URL, SVGVEC_TEST_CAT_URL, SVGVEC_TEST_HEART_URL   SVGs it can fetch
//	SVGVEC_TEST_BAD_URL      a URL that answers 404
//	SVGVEC_TEST_SLOW_URL     a URL that never finishes its body
//	SVGVEC_TEST_TLS_ADDRESS  host:port of a TLS server with the same token (optional)
//	SVGVEC_TEST_CA_FILE      the PEM certificate that server's certificate is signed with

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	svgvecv1 "github.com/svgvec/svgvec/clients/go/gen/svgvec/v1"
	"github.com/svgvec/svgvec/clients/go/svgvec"
)

// The ids that lose precision as float64 or sit at int64's ends.
var edgeIDs = []int64{9007199254740993, -1, math.MinInt64, math.MaxInt64}

type server struct {
	address, token             string
	dog, cat, heart, bad, slow string
	tlsAddress, caFile         string
}

func serverFromEnv(t *testing.T) server {
	t.Helper()
	s := server{
		address:    os.Getenv("SVGVEC_TEST_ADDRESS"),
		token:      os.Getenv("SVGVEC_TEST_TOKEN"),
		dog:        os.Getenv("SVGVEC_TEST_DOG_URL"),
		cat:        os.Getenv("SVGVEC_TEST_CAT_URL"),
		heart:      os.Getenv("SVGVEC_TEST_HEART_URL"),
		bad:        os.Getenv("SVGVEC_TEST_BAD_URL"),
		slow:       os.Getenv("SVGVEC_TEST_SLOW_URL"),
		tlsAddress: os.Getenv("SVGVEC_TEST_TLS_ADDRESS"),
		caFile:     os.Getenv("SVGVEC_TEST_CA_FILE"),
	}
	if s.address == "" {
		t.Skip("SVGVEC_TEST_ADDRESS is not set: run through `npm test` (test/clients/go.test.ts), or point it at a running svgvec")
	}
	for name, v := range map[string]string{"DOG": s.dog, "CAT": s.cat, "HEART": s.heart, "BAD": s.bad, "SLOW": s.slow} {
		if v == "" {
			t.Fatalf("SVGVEC_TEST_ADDRESS is set but SVGVEC_TEST_%s_URL is not; set every SVGVEC_TEST_*_URL (see client_test.go)", name)
		}
	}
	return s
}

func dial(t *testing.T, s server, opts ...svgvec.Option) *svgvec.Client {
	t.Helper()
	if s.token != "" {
		opts = append([]svgvec.Option{svgvec.WithInsecureToken(s.token)}, opts...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := svgvec.Dial(ctx, s.address, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// forget removes ids so that a rerun against the same server starts clean.
func forget(t *testing.T, c *svgvec.Client, ids ...int64) {
	t.Helper()
	for _, id := range ids {
		if _, err := c.Remove(callCtx(t), &svgvecv1.RemoveRequest{Id: proto.Int64(id)}); err != nil {
			t.Fatalf("Remove(%d): %v", id, err)
		}
	}
}

type pageStats struct {
	pages int
	ids   []int64
	urls  map[int64]string
}

func listAll(t *testing.T, c *svgvec.Client, pageSize uint32) pageStats {
	t.Helper()
	stream, err := c.ListImages(callCtx(t), &svgvecv1.ListImagesRequest{PageSize: pageSize})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	got := pageStats{urls: map[int64]string{}}
	for {
		page, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("ListImages page %d: %v", got.pages, err)
		}
		got.pages++
		if n := len(page.GetImages()); n == 0 || n > int(pageSize) {
			t.Fatalf("ListImages page %d has %d images; want 1 to %d", got.pages, n, pageSize)
		}
		for _, img := range page.GetImages() {
			got.ids = append(got.ids, img.GetId())
			got.urls[img.GetId()] = img.GetUrl()
		}
	}
}

func TestRoundTrip(t *testing.T) {
	s := serverFromEnv(t)
	c := dial(t, s)
	streamIDs := []int64{201, 202, 203, 204, 205}
	forget(t, c, append(append([]int64{101}, streamIDs...), edgeIDs...)...)

	added, err := c.AddImage(callCtx(t), &svgvecv1.AddImageRequest{Id: proto.Int64(101), Url: s.dog, IncludeVector: true})
	if err != nil {
		t.Fatalf("AddImage: %v", err)
	}
	if added.GetOutcome() != svgvecv1.AddOutcome_ADD_OUTCOME_ADDED || added.GetImage().GetId() != 101 || added.GetImage().GetUrl() != s.dog {
		t.Fatalf("AddImage answered %v; want id 101, the dog's url, ADDED", added)
	}
	if n := len(added.GetImage().GetVector()); n != 512 {
		t.Fatalf("AddImage with include_vector returned %d floats; want 512", n)
	}

	stream, err := c.StreamAddImages(callCtx(t))
	if err != nil {
		t.Fatalf("StreamAddImages: %v", err)
	}
	for i, url := range []string{s.cat, s.heart, s.dog, s.bad, ""} {
		if err := stream.Send(&svgvecv1.StreamAddImagesRequest{Id: proto.Int64(streamIDs[i]), Url: url}); err != nil {
			t.Fatalf("StreamAddImages Send %d: %v", i, err)
		}
	}
	summary, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("StreamAddImages CloseAndRecv: %v", err)
	}
	if summary.GetReceived() != 5 || summary.GetAdded() != 3 || summary.GetFailed() != 2 || summary.GetReplaced() != 0 {
		t.Fatalf("StreamAddImages summary %v; want received 5, added 3, failed 2", summary)
	}
	wantFailures := []struct {
		id    int64
		code  string
		index uint64
	}{{204, "FAILED_PRECONDITION", 3}, {205, "INVALID_ARGUMENT", 4}}
	if len(summary.GetFailures()) != len(wantFailures) {
		t.Fatalf("StreamAddImages failures %v; want %v", summary.GetFailures(), wantFailures)
	}
	for i, w := range wantFailures {
		f := summary.GetFailures()[i]
		if f.GetId() != w.id || f.GetCode() != w.code || f.GetIndex() != w.index || f.GetReason() == "" {
			t.Fatalf("StreamAddImages failure %d is %v; want id %d, code %s, index %d and a reason", i, f, w.id, w.code, w.index)
		}
	}

	// Added, then replaced: the server finds each id again, so none is mistaken for another.
	for _, id := range edgeIDs {
		for _, step := range []struct {
			url  string
			want svgvecv1.AddOutcome
		}{{s.heart, svgvecv1.AddOutcome_ADD_OUTCOME_ADDED}, {s.cat, svgvecv1.AddOutcome_ADD_OUTCOME_REPLACED}} {
			res, err := c.AddImage(callCtx(t), &svgvecv1.AddImageRequest{Id: proto.Int64(id), Url: step.url})
			if err != nil {
				t.Fatalf("AddImage(%d): %v", id, err)
			}
			if res.GetImage().GetId() != id || res.GetOutcome() != step.want {
				t.Fatalf("AddImage(%d, %s) answered id %d, %s; want the same id, %s", id, step.url, res.GetImage().GetId(), res.GetOutcome(), step.want)
			}
		}
	}

	want := append([]int64{101, 201, 202, 203}, edgeIDs...)
	listed := listAll(t, c, 2)
	if listed.pages < 2 {
		t.Fatalf("ListImages with page_size 2 sent %d page(s) for %d records; want several", listed.pages, len(listed.ids))
	}
	if !slices.IsSorted(listed.ids) {
		t.Fatalf("ListImages ids %v are not in ascending int64 order", listed.ids)
	}
	for _, id := range want {
		if !slices.Contains(listed.ids, id) {
			t.Fatalf("ListImages ids %v lack %d", listed.ids, id)
		}
	}
	for id, url := range map[int64]string{101: s.dog, 201: s.cat, 202: s.heart, 203: s.dog, 9007199254740993: s.cat, -1: s.cat, math.MinInt64: s.cat, math.MaxInt64: s.cat} {
		if listed.urls[id] != url {
			t.Fatalf("ListImages has url %q for id %d; want %q", listed.urls[id], id, url)
		}
	}
	for _, id := range []int64{204, 205} {
		if slices.Contains(listed.ids, id) {
			t.Fatalf("ListImages lists %d, whose stream item failed", id)
		}
	}

	found, err := c.Search(callCtx(t), &svgvecv1.SearchRequest{Text: "a dog", K: proto.Int32(int32(len(listed.ids) + 5))})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	var hitIDs []int64
	for i, h := range found.GetHits() {
		hitIDs = append(hitIDs, h.GetId())
		if i > 0 && h.GetSimilarity() > found.GetHits()[i-1].GetSimilarity() {
			t.Fatalf("Search hits are not best first: %v", found.GetHits())
		}
		if h.GetSimilarity() < -1.001 || h.GetSimilarity() > 1.001 {
			t.Fatalf("Search hit %d has similarity %f; want -1 to 1", h.GetId(), h.GetSimilarity())
		}
	}
	for _, id := range want {
		if !slices.Contains(hitIDs, id) {
			t.Fatalf("Search hits %v lack %d", hitIDs, id)
		}
	}

	stats, err := c.Stats(callCtx(t), &svgvecv1.StatsRequest{})
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if stats.GetTotalImages() != uint64(len(listed.ids)) || stats.GetModel().GetDimension() != 512 {
		t.Fatalf("Stats says %d images, dimension %d; want %d (as listed), 512", stats.GetTotalImages(), stats.GetModel().GetDimension(), len(listed.ids))
	}

	for _, id := range edgeIDs {
		for i, want := range []bool{true, false} {
			res, err := c.Remove(callCtx(t), &svgvecv1.RemoveRequest{Id: proto.Int64(id)})
			if err != nil {
				t.Fatalf("Remove(%d) #%d: %v", id, i+1, err)
			}
			if res.GetRemoved() != want {
				t.Fatalf("Remove(%d) #%d answered removed=%t; want %t", id, i+1, res.GetRemoved(), want)
			}
		}
	}
	if after := listAll(t, c, 1000); len(after.ids) != len(listed.ids)-len(edgeIDs) {
		t.Fatalf("ListImages after removing %d ids lists %v", len(edgeIDs), after.ids)
	}
}

func TestStatusCodes(t *testing.T) {
	s := serverFromEnv(t)
	c := dial(t, s)
	cases := []struct {
		name string
		call func(ctx context.Context) error
		want codes.Code
	}{
		{"AddImage without url", func(ctx context.Context) error {
			_, err := c.AddImage(ctx, &svgvecv1.AddImageRequest{Id: proto.Int64(1)})
			return err
		}, codes.InvalidArgument},
		{"AddImage without id", func(ctx context.Context) error {
			_, err := c.AddImage(ctx, &svgvecv1.AddImageRequest{Url: s.dog})
			return err
		}, codes.InvalidArgument},
		{"AddImage of an ftp url", func(ctx context.Context) error {
			_, err := c.AddImage(ctx, &svgvecv1.AddImageRequest{Id: proto.Int64(1), Url: "ftp://example.com/a.svg"})
			return err
		}, codes.InvalidArgument},
		{"AddImage of a 404", func(ctx context.Context) error {
			_, err := c.AddImage(ctx, &svgvecv1.AddImageRequest{Id: proto.Int64(1), Url: s.bad})
			return err
		}, codes.FailedPrecondition},
		{"Search with k 0", func(ctx context.Context) error {
			_, err := c.Search(ctx, &svgvecv1.SearchRequest{Text: "dog", K: proto.Int32(0)})
			return err
		}, codes.InvalidArgument},
		{"Search with k 16385", func(ctx context.Context) error {
			_, err := c.Search(ctx, &svgvecv1.SearchRequest{Text: "dog", K: proto.Int32(16385)})
			return err
		}, codes.InvalidArgument},
		{"Search without text", func(ctx context.Context) error {
			_, err := c.Search(ctx, &svgvecv1.SearchRequest{Text: " "})
			return err
		}, codes.InvalidArgument},
		{"Search with nprobe 0", func(ctx context.Context) error {
			_, err := c.Search(ctx, &svgvecv1.SearchRequest{Text: "dog", Nprobe: proto.Uint32(0)})
			return err
		}, codes.InvalidArgument},
		{"Remove without id", func(ctx context.Context) error {
			_, err := c.Remove(ctx, &svgvecv1.RemoveRequest{})
			return err
		}, codes.InvalidArgument},
		{"ListImages with page_size 16385", func(ctx context.Context) error {
			stream, err := c.ListImages(ctx, &svgvecv1.ListImagesRequest{PageSize: 16385})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}, codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(callCtx(t))
			if got := status.Code(err); got != tc.want {
				t.Fatalf("got %s (%v); want %s", got, err, tc.want)
			}
			if msg := status.Convert(err).Message(); msg == "" {
				t.Fatalf("%s has no message saying what to fix", tc.want)
			}
		})
	}
	if _, err := c.Stats(callCtx(t), &svgvecv1.StatsRequest{}); err != nil {
		t.Fatalf("Stats after the bad calls: %v", err)
	}
}

func TestCallTimeout(t *testing.T) {
	s := serverFromEnv(t)
	c := dial(t, s, svgvec.WithCallTimeout(500*time.Millisecond))
	// The slow URL never finishes its body, so only the default deadline ends this call.
	_, err := c.AddImage(context.Background(), &svgvecv1.AddImageRequest{Id: proto.Int64(301), Url: s.slow})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("AddImage of a never-ending body with WithCallTimeout got %v; want DEADLINE_EXCEEDED", err)
	}
	// A deadline of the caller's own wins over the default.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Stats(ctx, &svgvecv1.StatsRequest{}); err != nil {
		t.Fatalf("Stats: %v", err)
	}
}

func TestToken(t *testing.T) {
	s := serverFromEnv(t)
	if s.token == "" {
		t.Skip("SVGVEC_TEST_TOKEN is not set: the server needs no token")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, opts := range map[string][]svgvec.Option{
		"no token":    nil,
		"wrong token": {svgvec.WithInsecureToken("not-the-token-0123456789")},
	} {
		c, err := svgvec.Dial(ctx, s.address, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Stats(ctx, &svgvecv1.StatsRequest{})
		_ = c.Close()
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("Stats with %s got %v; want UNAUTHENTICATED", name, err)
		}
	}
}

func TestTLS(t *testing.T) {
	s := serverFromEnv(t)
	if s.tlsAddress == "" || s.caFile == "" {
		t.Skip("SVGVEC_TEST_TLS_ADDRESS and SVGVEC_TEST_CA_FILE are not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := svgvec.Dial(ctx, s.tlsAddress, svgvec.WithTLS(s.caFile), svgvec.WithToken(s.token))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Stats(ctx, &svgvecv1.StatsRequest{}); err != nil {
		t.Fatalf("Stats over TLS with a token: %v", err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if plain, err := svgvec.Dial(short, s.tlsAddress); err == nil {
		_ = plain.Close()
		t.Fatal("Dial without WithTLS to a TLS server succeeded; want an error")
	}
}

func TestOptionErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := svgvec.Dial(ctx, "127.0.0.1:1", svgvec.WithToken("a-token-0123456789abcdef")); err == nil {
		t.Fatal("WithToken without TLS dialled; want an error pointing at WithTLS or WithInsecureToken")
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := svgvec.Dial(ctx, "127.0.0.1:1", svgvec.WithTLS(notPEM)); err == nil {
		t.Fatal("WithTLS of a file without a certificate dialled; want an error")
	}
	if _, err := svgvec.Dial(ctx, "127.0.0.1:1", svgvec.WithCallTimeout(0)); err == nil {
		t.Fatal("WithCallTimeout(0) dialled; want an error")
	}
}

func TestSearchByImage(t *testing.T) {
	s := serverFromEnv(t)
	c := dial(t, s)
	ids := []int64{401, 402, 403}
	forget(t, c, ids...)
	for i, url := range []string{s.dog, s.cat, s.cat} {
		if _, err := c.AddImage(callCtx(t), &svgvecv1.AddImageRequest{Id: proto.Int64(ids[i]), Url: url}); err != nil {
			t.Fatalf("AddImage(%d): %v", ids[i], err)
		}
	}
	search := func(req *svgvecv1.SearchRequest) map[int64]float32 {
		t.Helper()
		res, err := c.Search(callCtx(t), req)
		if err != nil {
			t.Fatalf("Search(%v): %v", req, err)
		}
		hits := map[int64]float32{}
		for _, h := range res.GetHits() {
			hits[h.GetId()] = h.GetSimilarity()
		}
		return hits
	}

	// Other tests store the same SVGs under other ids, which tie with these: look for ids, not ranks.
	if hits := search(&svgvecv1.SearchRequest{LikeId: proto.Int64(402), IncludeSelf: true, K: proto.Int32(1000)}); hits[402] < 0.999 {
		t.Fatalf("Search by id 402 with include_self has it at similarity %f; want >= 0.999 (hits %v)", hits[402], hits)
	}
	hits := search(&svgvecv1.SearchRequest{LikeId: proto.Int64(402), ExcludeIds: []int64{403}, K: proto.Int32(1000)})
	if _, ok := hits[402]; ok {
		t.Fatalf("Search by id 402 without include_self returned 402: %v", hits)
	}
	if _, ok := hits[403]; ok {
		t.Fatalf("Search with exclude_ids [403] returned 403: %v", hits)
	}
	near := search(&svgvecv1.SearchRequest{LikeId: proto.Int64(402), MinSimilarity: proto.Float32(0.999), K: proto.Int32(1000)})
	if near[403] < 0.999 {
		t.Fatalf("Search with min_similarity 0.999 lacks 403, the same SVG as 402: %v", near)
	}
	for id, sim := range near {
		if sim < 0.999 {
			t.Fatalf("Search with min_similarity 0.999 returned %d at %f", id, sim)
		}
	}
	if hits := search(&svgvecv1.SearchRequest{LikeUrl: s.dog, K: proto.Int32(1000)}); hits[401] < 0.999 {
		t.Fatalf("Search by the dog's URL has 401 (the dog) at %f; want >= 0.999", hits[401])
	}

	_, err := c.Search(callCtx(t), &svgvecv1.SearchRequest{LikeId: proto.Int64(499)})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Search by a missing id got %v; want NOT_FOUND", err)
	}
	_, err = c.Search(callCtx(t), &svgvecv1.SearchRequest{Text: "dog", LikeUrl: s.dog})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Search with text and like_url got %v; want INVALID_ARGUMENT", err)
	}
	forget(t, c, ids...)
}
