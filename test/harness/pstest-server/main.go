// pstest-server runs Google's in-memory Pub/Sub fake (cloud.google.com/go/pubsub/v2/pstest) as a
// process, so the TypeScript test harness can use it through PUBSUB_EMULATOR_HOST.
//
// It prints one line, "pstest listening on <host:port>", once the gRPC server accepts connections,
// and stops on SIGTERM/SIGINT or when its stdin reaches end-of-file: the harness keeps stdin open
// as a pipe, so the server also goes away when the process that started it dies.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "host:port to listen on; port 0 picks a free port")
	watchStdin := flag.Bool("exit-on-stdin-eof", true, "stop when stdin is closed")
	flag.Parse()

	// The real service rejects ack deadlines outside 10..600 s; pstest only checks that range after
	// ResetMinAckDeadline (its minimum is 0 otherwise), and tests should see the real rule.
	pstest.ResetMinAckDeadline()
	srv := pstest.NewServerWithAddress(*addr)
	fmt.Printf("pstest listening on %s\n", srv.Addr)

	stop := make(chan string, 2)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { stop <- (<-signals).String() }()
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- "stdin closed"
		}()
	}
	reason := <-stop
	fmt.Fprintf(os.Stderr, "pstest stopping (%s)\n", reason)
	_ = srv.Close()
}
