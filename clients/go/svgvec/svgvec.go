// Package svgvec connects to an svgvec server (proto/svgvec/v1/svgvec.proto).
//
// Dial returns a Client that embeds the generated svgvecv1.SvgVecServiceClient,
// so every RPC is called as generated:
//
//	c, err := svgvec.Dial(ctx, "127.0.0.1:50051", svgvec.WithInsecureToken(token))
//	if err != nil { ... }
//	defer c.Close()
//	res, err := c.AddImage(ctx, &svgvecv1.AddImageRequest{Id: proto.Int64(101), Url: "https://example.com/dog.svg"})
//
// Errors are gRPC statuses; read their code with status.Code(err).
package svgvec

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	svgvecv1 "github.com/svgvec/svgvec/clients/go/gen/svgvec/v1"
)

// Client is a connection to one svgvec server. It is safe for concurrent use.
type Client struct {
	svgvecv1.SvgVecServiceClient
	conn *grpc.ClientConn
}

// Conn is the underlying connection, e.g. for the grpc.health.v1 service.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail with CANCELED.
func (c *Client) Close() error { return c.conn.Close() }

// Option configures Dial.
type Option func(*options) error

type options struct {
	tls           *tls.Config
	token         string
	tokenInsecure bool
	callTimeout   time.Duration
	dialOptions   []grpc.DialOption
}

// WithToken sends "authorization: Bearer <token>" on every call. It needs
// WithTLS or WithTLSConfig, so that the token never travels in cleartext.
func WithToken(token string) Option {
	return func(o *options) error {
		o.token, o.tokenInsecure = token, false
		return nil
	}
}

// WithInsecureToken sends the bearer token like WithToken, but also over a
// plaintext connection. Use it only for a server on loopback (127.0.0.1,
// localhost), where nobody else can read the connection.
func WithInsecureToken(token string) Option {
	return func(o *options) error {
		o.token, o.tokenInsecure = token, true
		return nil
	}
}

// WithTLS connects over TLS and trusts the server certificates signed by the
// PEM certificates in caFile (for a self-signed server, its own certificate).
func WithTLS(caFile string) Option {
	return func(o *options) error {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("svgvec: reading the CA file for WithTLS: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("svgvec: %s holds no PEM certificate; pass the CA certificate (or the self-signed server certificate) that signed the server's certificate", caFile)
		}
		o.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		return nil
	}
}

// WithTLSConfig connects over TLS with cfg, e.g. &tls.Config{} to trust the
// system's certificate authorities.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			return errors.New("svgvec: WithTLSConfig(nil); pass &tls.Config{} for the system's certificate authorities")
		}
		o.tls = cfg.Clone()
		return nil
	}
}

// WithCallTimeout gives every unary call whose context has no deadline the
// deadline d. Streams (StreamAddImages, ListImages) keep the caller's context,
// since a large import or listing may rightly take long.
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("svgvec: WithCallTimeout(%s); pass a positive duration", d)
		}
		o.callTimeout = d
		return nil
	}
}

// WithDialOptions passes further options to grpc.NewClient.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) error {
		o.dialOptions = append(o.dialOptions, opts...)
		return nil
	}
}

// Dial connects to the svgvec server at address (host:port) and waits until
// the connection is ready, so a wrong address or TLS setting fails here
// rather than on the first call. Bound the wait with ctx's deadline.
func Dial(ctx context.Context, address string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.token != "" && !o.tokenInsecure && o.tls == nil {
		return nil, errors.New("svgvec: WithToken needs WithTLS or WithTLSConfig, or the token would travel in cleartext; for a server on loopback use WithInsecureToken")
	}

	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if o.tls != nil {
		dial[0] = grpc.WithTransportCredentials(credentials.NewTLS(o.tls))
	}
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: !o.tokenInsecure}))
	}
	if o.callTimeout > 0 {
		dial = append(dial, grpc.WithChainUnaryInterceptor(defaultTimeout(o.callTimeout)))
	}
	dial = append(dial, o.dialOptions...)

	conn, err := grpc.NewClient(address, dial...)
	if err != nil {
		return nil, fmt.Errorf("svgvec: %w", err)
	}
	if err := waitReady(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("svgvec: could not connect to %s: %w (check the address, and that WithTLS matches whether the server serves TLS)", address, err)
	}
	return &Client{SvgVecServiceClient: svgvecv1.NewSvgVecServiceClient(conn), conn: conn}, nil
}

func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		state := conn.GetState()
		switch state {
		case connectivity.Ready:
			return nil
		case connectivity.Idle:
			conn.Connect()
		case connectivity.Shutdown:
			return errors.New("connection closed")
		}
		if !conn.WaitForStateChange(ctx, state) {
			return fmt.Errorf("%w while the connection was %s", ctx.Err(), state)
		}
	}
}

// bearer is the per-RPC credential that carries the token.
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only for WithInsecureToken: grpc-go then
// sends the token over plaintext instead of failing the call.
func (b bearer) RequireTransportSecurity() bool { return b.secure }

func defaultTimeout(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
