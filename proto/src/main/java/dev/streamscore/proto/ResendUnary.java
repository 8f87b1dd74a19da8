package dev.streamscore.proto;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;

/**
 * Sends a unary call once more when it fails {@code UNAVAILABLE} after gRPC's own retries could not
 * help, or {@code CANCELLED} by the server rather than by its caller: gRPC retries only while no
 * answer has begun, so a server that dies in the middle of answering fails the call for good, and
 * one that shuts down resets the calls it has accepted ({@code RST_STREAM}, CANCEL), even one that
 * arrived a moment before. The second call waits for a ready server within the same deadline. The
 * caller sees one outcome: the answer is held until the call closes, so nothing it saw from the
 * first call is repeated.
 *
 * <p>Only for services whose unary calls are safe to repeat; streaming calls pass through.
 */
final class ResendUnary implements ClientInterceptor {
  @Override
  public <Q, A> ClientCall<Q, A> interceptCall(
      MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
    if (method.getType() != MethodDescriptor.MethodType.UNARY) {
      return next.newCall(method, options);
    }
    return new ResendingCall<>(method, options, next);
  }

  /** One unary call that may be sent twice; callbacks of one call are serialized by gRPC. */
  private static final class ResendingCall<Q, A> extends ClientCall<Q, A> {
    private final MethodDescriptor<Q, A> method;
    private final CallOptions options;
    private final Channel next;
    private Listener<A> listener;
    private Metadata headers;
    private Q request;
    private int requested;
    private volatile ClientCall<Q, A> current;
    private volatile boolean cancelledByCaller;

    ResendingCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
      this.method = method;
      this.options = options;
      this.next = next;
    }

    @Override
    public void start(Listener<A> listener, Metadata headers) {
      this.listener = listener;
      this.headers = headers;
      current = next.newCall(method, options);
      current.start(new Held(true), copy(headers));
    }

    @Override
    public void request(int n) {
      requested += n;
      current.request(n);
    }

    @Override
    public void sendMessage(Q message) {
      request = message;
      current.sendMessage(message);
    }

    @Override
    public void halfClose() {
      current.halfClose();
    }

    @Override
    public void cancel(String message, Throwable cause) {
      cancelledByCaller = true;
      current.cancel(message, cause);
    }

    @Override
    public boolean isReady() {
      return current.isReady();
    }

    private static Metadata copy(Metadata headers) {
      Metadata copy = new Metadata();
      copy.merge(headers);
      return copy;
    }

    /** Holds one attempt's headers and answer until it closes. */
    private final class Held extends Listener<A> {
      private final boolean mayResend;
      private Metadata answerHeaders;
      private A answer;

      Held(boolean mayResend) {
        this.mayResend = mayResend;
      }

      @Override
      public void onHeaders(Metadata h) {
        answerHeaders = h;
      }

      @Override
      public void onMessage(A message) {
        answer = message;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (mayResend && resendable(status) && answer == null && request != null) {
          ClientCall<Q, A> again =
              next.newCall(
                  method, options.withWaitForReady().withOption(FailoverChannels.RESENT, true));
          current = again;
          again.start(new Held(false), copy(headers));
          again.request(Math.max(1, requested));
          again.sendMessage(request);
          again.halfClose();
          return;
        }
        if (answerHeaders != null) {
          listener.onHeaders(answerHeaders);
        }
        if (answer != null) {
          listener.onMessage(answer);
        }
        listener.onClose(status, trailers);
      }

      /** Callbacks run in the call's context: a caller that cancelled it cancelled that. */
      private boolean resendable(Status status) {
        return status.getCode() == Status.Code.UNAVAILABLE
            || (status.getCode() == Status.Code.CANCELLED
                && !cancelledByCaller
                && !Context.current().isCancelled());
      }

      @Override
      public void onReady() {
        listener.onReady();
      }
    }
  }
}
