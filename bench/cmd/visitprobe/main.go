// Command visitprobe times the Firestore RPC shapes of a session visit
// against the emulator, without HTTP and without the library: each of 16
// workers loops over one document of its own, on one of 3 connections at
// random, and the duration of every RPC is kept.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/firestore-sessions/sessions/internal/tcpproxy"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	apiv1 "cloud.google.com/go/firestore/apiv1"
	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type owner struct{}

func (owner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (owner) RequireTransportSecurity() bool { return false }

func main() {
	host := flag.String("host", os.Getenv("FIRESTORE_EMULATOR_HOST"), "emulator")
	rtt := flag.Duration("rtt", 0, "delay proxy round trip")
	workers := flag.Int("workers", 16, "workers")
	conns := flag.Int("conns", 3, "connections")
	dur := flag.Duration("duration", 3*time.Second, "per pattern")
	patterns := flag.String("patterns", "read,inc,inc||read,cas-ok,cas-stale", "patterns")
	flag.Parse()
	ctx := context.Background()
	up := *host
	if *rtt > 0 {
		d, err := tcpproxy.Start(*host, *rtt)
		if err != nil {
			panic(err)
		}
		up = d.Addr
	}
	var clients []*apiv1.Client
	for range *conns {
		conn, err := grpc.NewClient("passthrough:///"+up, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(owner{}))
		if err != nil {
			panic(err)
		}
		c, err := apiv1.NewClient(ctx, option.WithGRPCConn(conn))
		if err != nil {
			panic(err)
		}
		clients = append(clients, c)
	}
	db := "projects/probe/databases/(default)"
	name := func(i int) string { return fmt.Sprintf("%s/documents/s/%d", db, i) }
	noRetry := gax.WithRetry(func() gax.Retryer { return nil })
	commit := func(c *apiv1.Client, w *pb.Write) (*pb.WriteResult, error) {
		r, err := c.Commit(ctx, &pb.CommitRequest{Database: db, Writes: []*pb.Write{w}}, noRetry)
		if err != nil {
			return nil, err
		}
		return r.WriteResults[0], nil
	}
	read := func(c *apiv1.Client, i int) error {
		s, err := c.BatchGetDocuments(ctx, &pb.BatchGetDocumentsRequest{Database: db, Documents: []string{name(i)}})
		if err != nil {
			return err
		}
		for {
			if _, err := s.Recv(); err != nil {
				return nil
			}
		}
	}
	set := func(c *apiv1.Client, i int, v int64, pre *pb.Precondition) (*pb.WriteResult, error) {
		return commit(c, &pb.Write{Operation: &pb.Write_Update{Update: &pb.Document{Name: name(i), Fields: map[string]*pb.Value{"views": {ValueType: &pb.Value_IntegerValue{IntegerValue: v}}}}},
			UpdateMask: &pb.DocumentMask{FieldPaths: []string{"views"}}, CurrentDocument: pre})
	}
	inc := func(c *apiv1.Client, i int) error {
		_, err := commit(c, &pb.Write{Operation: &pb.Write_Update{Update: &pb.Document{Name: name(i), Fields: map[string]*pb.Value{}}},
			UpdateMask:       &pb.DocumentMask{},
			UpdateTransforms: []*pb.DocumentTransform_FieldTransform{{FieldPath: "views", TransformType: &pb.DocumentTransform_FieldTransform_Increment{Increment: &pb.Value{ValueType: &pb.Value_IntegerValue{IntegerValue: 1}}}}},
			CurrentDocument:  &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: true}}})
		return err
	}
	versions := make([]time.Time, *workers)
	stale := make([]time.Time, *workers)
	for i := range *workers {
		w1, err := set(clients[0], i, 0, nil)
		if err != nil {
			panic(err)
		}
		stale[i] = w1.UpdateTime.AsTime()
		w2, err := set(clients[0], i, 1, nil)
		if err != nil {
			panic(err)
		}
		versions[i] = w2.UpdateTime.AsTime()
	}
	for _, pat := range strings.Split(*patterns, ",") {
		for i := range *workers { // the version cas-ok starts from
			w, err := set(clients[0], i, 1, nil)
			if err != nil {
				panic(err)
			}
			versions[i] = w.UpdateTime.AsTime()
		}
		var mu sync.Mutex
		var lat, lat2 []time.Duration
		ops, fails := 0, 0
		deadline := time.Now().Add(*dur)
		var wg sync.WaitGroup
		for i := range *workers {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					c := clients[rand.IntN(len(clients))]
					t0 := time.Now()
					var err error
					p := pat
					if pat == "mix" { // half the workers refused commits, half increments
						p = "inc"
						if i%2 == 0 {
							p = "cas-stale"
						}
					}
					switch p {
					case "read":
						err = read(c, i)
					case "inc":
						err = inc(c, i)
					case "inc||read":
						done := make(chan struct{})
						go func() { defer close(done); _ = read(c, i) }()
						err = inc(c, i)
						<-done
					case "cas-ok":
						var w *pb.WriteResult
						w, err = set(c, i, 1, &pb.Precondition{ConditionType: &pb.Precondition_UpdateTime{UpdateTime: timestamppb.New(versions[i])}})
						if err == nil {
							versions[i] = w.UpdateTime.AsTime()
						}
					case "cas-stale":
						_, err = set(c, i, 1, &pb.Precondition{ConditionType: &pb.Precondition_UpdateTime{UpdateTime: timestamppb.New(stale[i])}})
						if err == nil {
							panic("stale commit succeeded")
						}
						err = nil
					}
					d := time.Since(t0)
					mu.Lock()
					ops++
					if err != nil {
						fails++
					}
					if p == "cas-stale" && pat == "mix" {
						lat2 = append(lat2, d)
					} else {
						lat = append(lat, d)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		show := func(what string, lat []time.Duration) {
			slices.Sort(lat)
			p := func(q float64) float64 {
				return float64(lat[min(len(lat)-1, int(float64(len(lat))*q))]) / 1e6
			}
			fmt.Printf("%-10s %6.0f ops/s  p50 %6.2f  p90 %6.2f  p99 %6.2f  max %6.2f ms  errors %d\n", what, float64(len(lat))/dur.Seconds(), p(.5), p(.9), p(.99), p(1), fails)
		}
		if pat == "mix" {
			show("mix: inc", lat)
			show("mix: cas-stale", lat2)
		} else {
			show(pat, lat)
		}
		_ = ops
	}
}
