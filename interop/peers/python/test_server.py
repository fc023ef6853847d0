"""grpc.testing.TestService on grpcio (gRPC C-core), a peer server for the interop matrix.

Usage: python test_server.py [--port N] [--protos DIR]

Binds 127.0.0.1 (port 0, the default, picks a free port), prints exactly one stdout line,
`listening on 127.0.0.1:PORT`, and serves until SIGTERM or SIGINT. The Python stubs are
generated at start-up from the project's protos/grpc/testing/*.proto with
grpc_tools.protoc into a temporary folder that is removed on exit.

Behaviour (docs/protocol.md, I1-I3):
- EmptyCall returns Empty.
- UnaryCall and CacheableUnaryCall return `response_size` zero bytes, or fail with
  `response_status` when it is set with a nonzero code.
- StreamingOutputCall sends one response per `response_parameters` entry, sleeping
  `interval_us` before each, then fails with `response_status` if set.
- StreamingInputCall answers with the sum of the request payload sizes.
- FullDuplexCall answers each request like StreamingOutputCall as it arrives;
  HalfDuplexCall does the same once the client has finished sending.
- UnimplementedCall fails with UNIMPLEMENTED; UnimplementedService is not registered, so
  gRPC itself answers UNIMPLEMENTED.
- Every method echoes `x-grpc-test-echo-initial` as a response header and
  `x-grpc-test-echo-trailing-bin` as a trailer, on success and on failure.
- A sleep that would outlast the call's deadline ends the call with DEADLINE_EXCEEDED
  when the deadline passes.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import signal
import tempfile
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import grpc
from grpc_tools import protoc

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
PROTO_FILES = ("empty.proto", "messages.proto", "test.proto")
# How long calls in flight may go on after SIGTERM.
STOP_GRACE_S = 1.0


def generate_stubs(protos: Path, out: Path) -> None:
    """Compiles grpc/testing/*.proto into `out` and makes `grpc.testing` importable.

    The protos' package, and so the generated modules' path, is `grpc.testing`, which sits
    inside grpcio's own `grpc` package: we extend that package's search path with `out/grpc`
    instead of shadowing grpcio.
    """
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{protos}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
    ] + [str(protos / "grpc" / "testing" / name) for name in PROTO_FILES]
    if protoc.main(args) != 0:
        raise SystemExit(f"grpc_tools.protoc failed on {protos}/grpc/testing")
    grpc.__path__.append(str(out / "grpc"))


def echo_metadata(context: grpc.aio.ServicerContext) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The (initial, trailing) metadata this call has to echo."""
    initial: list[tuple[str, Any]] = []
    trailing: list[tuple[str, Any]] = []
    for key, value in context.invocation_metadata() or ():
        if key == ECHO_INITIAL:
            initial.append((key, value))
        elif key == ECHO_TRAILING:
            trailing.append((key, value))
    return initial, trailing


def make_servicer(empty: Any, messages: Any, services: Any) -> Any:
    """The TestService servicer class, built once the stubs are importable."""

    def zero_payload(size: int) -> Any:
        if size < 0:
            raise ValueError(f"negative response size {size}")
        return messages.Payload(type=messages.COMPRESSABLE, body=bytes(size))

    class Call:
        """One call's echo metadata and deadline handling."""

        def __init__(self, context: grpc.aio.ServicerContext) -> None:
            self.context = context
            self.initial, self.trailing = echo_metadata(context)
            if self.trailing:
                context.set_trailing_metadata(self.trailing)

        async def start(self) -> None:
            if self.initial:
                await self.context.send_initial_metadata(self.initial)

        async def fail(self, code: grpc.StatusCode, message: str) -> None:
            await self.context.abort(code, message, tuple(self.trailing))

        async def fail_with(self, status: Any) -> None:
            """Fails with the requested EchoStatus when it is set and not OK."""
            if status is not None and status.code != 0:
                await self.fail(code_of(status.code), status.message)

        async def sleep_us(self, micros: int) -> None:
            if micros <= 0:
                return
            seconds = micros / 1e6
            remaining = self.context.time_remaining()
            if remaining is not None and remaining < seconds:
                await asyncio.sleep(max(remaining, 0))
                await self.fail(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
            await asyncio.sleep(seconds)

        async def respond(self, request: Any) -> AsyncIterator[Any]:
            """The responses one StreamingOutputCallRequest asks for, then its status."""
            for params in request.response_parameters:
                await self.sleep_us(params.interval_us)
                yield messages.StreamingOutputCallResponse(payload=self.payload(params.size))
            await self.fail_with(request.response_status if request.HasField("response_status") else None)

        def payload(self, size: int) -> Any:
            try:
                return zero_payload(size)
            except ValueError as err:
                raise InvalidArgument(str(err)) from err

    class InvalidArgument(Exception):
        pass

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        call = Call(context)
        await call.start()
        await call.fail_with(request.response_status if request.HasField("response_status") else None)
        if request.response_size < 0:
            await call.fail(grpc.StatusCode.INVALID_ARGUMENT, f"negative response size {request.response_size}")
        return messages.SimpleResponse(payload=zero_payload(request.response_size))

    async def stream_out(call: Call, requests: Sequence[Any] | AsyncIterator[Any]) -> AsyncIterator[Any]:
        try:
            if isinstance(requests, Sequence):
                for request in requests:
                    async for response in call.respond(request):
                        yield response
            else:
                async for request in requests:
                    async for response in call.respond(request):
                        yield response
        except InvalidArgument as err:
            await call.fail(grpc.StatusCode.INVALID_ARGUMENT, str(err))

    class TestService(services.TestServiceServicer):
        async def EmptyCall(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = Call(context)
            await call.start()
            return empty.Empty()

        async def UnaryCall(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await unary(request, context)

        async def CacheableUnaryCall(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await unary(request, context)

        async def StreamingOutputCall(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = Call(context)
            await call.start()
            async for response in stream_out(call, [request]):
                yield response

        async def StreamingInputCall(self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
            call = Call(context)
            await call.start()
            total = 0
            async for request in request_iterator:
                total += len(request.payload.body)
            return messages.StreamingInputCallResponse(aggregated_payload_size=total)

        async def FullDuplexCall(self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = Call(context)
            await call.start()
            async for response in stream_out(call, request_iterator):
                yield response

        async def HalfDuplexCall(self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = Call(context)
            await call.start()
            requests = [request async for request in request_iterator]
            async for response in stream_out(call, requests):
                yield response

        async def UnimplementedCall(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = Call(context)
            await call.fail(
                grpc.StatusCode.UNIMPLEMENTED,
                "grpc.testing.TestService/UnimplementedCall is never implemented",
            )

    return TestService


def code_of(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


async def serve(port: int, protos: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="grpc-testing-stubs-") as out:
        generate_stubs(protos, Path(out))
        from grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc  # type: ignore[attr-defined]

        server = grpc.aio.server()
        test_pb2_grpc.add_TestServiceServicer_to_server(make_servicer(empty_pb2, messages_pb2, test_pb2_grpc)(), server)
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        print(f"listening on 127.0.0.1:{bound}", flush=True)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop(STOP_GRACE_S)


def main() -> None:
    root = Path(__file__).resolve().parents[3]
    parser = argparse.ArgumentParser(description="grpc.testing.TestService on grpcio")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--protos", type=Path, default=root / "protos", help="folder holding grpc/testing/*.proto")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.protos))


if __name__ == "__main__":
    main()
