package load

import (
	"context"
	"errors"
	"io"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Proxy is a transparent gRPC proxy on a loopback port that forwards every
// call, of any method, to the emulator through a connection whose RPCs are
// counted by an RPCCounter's client interceptor. An app running in another
// process (the greeter binary) is pointed at it with
// FIRESTORE_EMULATOR_HOST, so that its RPCs are counted exactly as those of
// an app in this process.
type Proxy struct {
	Addr     string // "127.0.0.1:PORT"
	upstream *grpc.ClientConn
	srv      *grpc.Server
}

// frame is one message, forwarded as it came, undecoded.
type frame struct{ b []byte }

// rawCodec passes messages through without decoding them. It is named
// "proto" so that the content type on both sides stays application/grpc.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*frame).b, nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*frame).b = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// StartProxy starts a proxy to the emulator at host, counting in counter.
func StartProxy(host string, counter *RPCCounter) (*Proxy, error) {
	up, err := grpc.NewClient("passthrough:///"+host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(counter.unary),
		grpc.WithStreamInterceptor(counter.stream),
	)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		up.Close()
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), upstream: up}
	p.srv = grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(p.forward))
	go p.srv.Serve(l) //nolint:errcheck // ends with Stop
	return p, nil
}

// Close stops the proxy, ending the calls in flight.
func (p *Proxy) Close() {
	p.srv.Stop()
	p.upstream.Close()
}

// forward relays one call: metadata (the app's credentials included),
// messages both ways, then the upstream's headers, trailers and status.
func (p *Proxy) forward(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return errors.New("proxy: no method")
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	md, _ := metadata.FromIncomingContext(ctx)
	md = md.Copy()
	for _, k := range []string{":authority", "content-type", "user-agent", "grpc-timeout"} {
		delete(md, k)
	}
	ctx = metadata.NewOutgoingContext(ctx, md)
	desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
	cs, err := p.upstream.NewStream(ctx, desc, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}

	// App to emulator.
	sent := make(chan error, 1)
	go func() {
		for {
			var f frame
			if err := ss.RecvMsg(&f); err != nil {
				if errors.Is(err, io.EOF) {
					sent <- cs.CloseSend()
				} else {
					sent <- err
				}
				return
			}
			if err := cs.SendMsg(&f); err != nil {
				sent <- err
				return
			}
		}
	}()

	// Emulator to app.
	if hdr, err := cs.Header(); err == nil {
		if err := ss.SendHeader(hdr); err != nil {
			return err
		}
	}
	for {
		var f frame
		err := cs.RecvMsg(&f)
		if errors.Is(err, io.EOF) {
			ss.SetTrailer(cs.Trailer())
			return nil
		}
		if err != nil {
			ss.SetTrailer(cs.Trailer())
			return err // the upstream's status
		}
		if err := ss.SendMsg(&f); err != nil {
			return err
		}
	}
}
