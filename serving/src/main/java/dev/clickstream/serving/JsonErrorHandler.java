package dev.clickstream.serving;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

/**
 * Jetty's own error responses, for requests that never reach Javalin (a malformed percent-encoding such as
 * {@code %zz}, an encoded NUL, headers too large), as the same JSON errors the handlers return instead of HTML.
 */
final class JsonErrorHandler extends ErrorHandler {
  private final ObjectMapper mapper;

  JsonErrorHandler(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  @Override
  public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
    fields.put(HttpHeader.CONTENT_TYPE, "application/json");
    return ByteBuffer.wrap(body(status).getBytes(UTF_8));
  }

  @Override
  protected void generateAcceptableResponse(
      Request baseRequest, HttpServletRequest request, HttpServletResponse response, int code, String message)
      throws IOException {
    baseRequest.setHandled(true);
    response.setContentType("application/json");
    response.setCharacterEncoding(UTF_8.name());
    response.getWriter().write(body(code));
  }

  /** Only the status and its standard reason: Jetty's messages may carry internals. */
  private String body(int status) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", status);
    body.put("error", "malformed request: " + HttpStatus.getMessage(status));
    try {
      return mapper.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
