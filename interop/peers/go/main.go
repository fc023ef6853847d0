// Command grpc-go-interop-server serves grpc-go's own interop TestService
// (google.golang.org/grpc/interop.NewTestServer) on a loopback address.
//
// grpc-go's interop server binary listens on every interface and has no flag to change
// that; the interop matrix keeps its servers on 127.0.0.1, so this wraps the same service
// with a listener of our choosing. It prints one line, `listening on ADDR`, once bound.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	flag.Parse()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen on %s: %v", *listen, err)
	}
	server := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(server, interop.NewTestServer())
	fmt.Printf("listening on %s\n", lis.Addr())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		server.Stop()
	}()
	if err := server.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
