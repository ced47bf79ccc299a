/* The library reports the version its header declares, and the header's
 * parts agree with its string, its hex form and the CMake project version
 * (EVQ_CMAKE_VERSION, passed by tests/packaging/CMakeLists.txt). */
#include <evq.h>

#include <stdio.h>
#include <string.h>

static int failures;
#define EXPECT(cond, ...)                                                   \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                \
      failures++;                                                           \
    }                                                                       \
  } while (0)

int main(void) {
  char parts[64];
  snprintf(parts, sizeof parts, "%d.%d.%d", EVQ_VERSION_MAJOR,
           EVQ_VERSION_MINOR, EVQ_VERSION_PATCH);
  EXPECT(strcmp(parts, EVQ_VERSION_STRING) == 0,
         "EVQ_VERSION_STRING is %s, the parts say %s\n", EVQ_VERSION_STRING,
         parts);
  EXPECT(EVQ_VERSION_MINOR < 256 && EVQ_VERSION_PATCH < 256,
         "a version part does not fit EVQ_VERSION_HEX's byte\n");
  EXPECT(EVQ_VERSION_HEX == ((EVQ_VERSION_MAJOR << 16) |
                             (EVQ_VERSION_MINOR << 8) | EVQ_VERSION_PATCH),
         "EVQ_VERSION_HEX is %#x\n", (unsigned)EVQ_VERSION_HEX);
  EXPECT(strcmp(EVQ_CMAKE_VERSION, EVQ_VERSION_STRING) == 0,
         "CMake project version %s, header %s\n", EVQ_CMAKE_VERSION,
         EVQ_VERSION_STRING);
  EXPECT(evq_version() == EVQ_VERSION_HEX, "evq_version() is %#x, header %#x\n",
         evq_version(), (unsigned)EVQ_VERSION_HEX);
  EXPECT(strcmp(evq_version_string(), EVQ_VERSION_STRING) == 0,
         "evq_version_string() is %s, header %s\n", evq_version_string(),
         EVQ_VERSION_STRING);
  if (failures) return 1;
  printf("evq %s (%#08x): library, header and CMake agree\n",
         evq_version_string(), evq_version());
  return 0;
}
