// Package yarpc is a small stream-RPC layer over TCP (or any net.Conn), in
// the shape of net/http: a Server with Handlers registered by method name,
// and a ClientConn that opens Streams to them. Every stream of a client and
// a server shares one connection; messages are framed with a version byte, a
// kind, a stream id and a length, written once each and coalesced with the
// other streams' frames, and each stream has its own flow-control window so
// that a slow reader holds up nobody else.
//
// To serve:
//
//  1. Build a Server (the zero value is ready) and register a Handler per
//     method with Handle or HandleFunc. A handler reads requests with
//     ReadMsg and writes replies with WriteMsg on the Stream it is given;
//     returning nil ends the stream (the client reads io.EOF after the
//     replies), returning an error sends it as a *Status. A unary handler
//     replies with SendAndClose, which sends the reply and the end of the
//     stream in one write.
//  2. Call Serve with a listener, or ListenAndServe, in a goroutine, with
//     Options (WithTLS, WithLogger, WithMaxMessageBytes, ...).
//  3. Call Shutdown to stop: listeners close at once, running handlers get
//     the shutdown timeout to finish, then their contexts are cancelled.
//     Serve returns ErrServerClosed.
//
// To call:
//
//  1. DialContext(ctx, "tcp", address, options...) returns a ClientConn at
//     once; it connects at the first OpenStream and again after the
//     connection breaks. Share one ClientConn between goroutines.
//  2. OpenStream(ctx, method) returns a Stream. For a unary call, WriteMsg
//     the request and ReadMsg the reply; for streams, call them as often as
//     needed, and CloseSend(stream) to tell the server no more messages
//     follow.
//  3. Close the Stream when done (this cancels the handler if it still
//     runs), and the ClientConn when the program no longer needs it.
//
// Messages are encoded by a Codec (WithCodec). The default, BinaryCodec,
// uses a type's encoding.BinaryAppender and encoding.BinaryUnmarshaler
// methods when it has them and encoding/json otherwise.
//
// The yarpctest package runs servers and clients in memory for tests.
package yarpc
