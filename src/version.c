/* The version the library was built as, so a program can learn at run time
 * which evq it got (the header tells only what it was compiled against). */
#include "evq.h"

unsigned evq_version(void) { return EVQ_VERSION_HEX; }

const char *evq_version_string(void) { return EVQ_VERSION_STRING; }
