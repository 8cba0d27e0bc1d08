/* Units as ecosystem files write them: sizes ("512M") and durations ("10s"). */
#ifndef WSD_UNITS_H
#define WSD_UNITS_H

#include <stdint.h>

/*
 * "512M", "1G", "300K", "1.5G", "10MB", "10MiB", "1024", "100B" → bytes
 * (K, M, G are ×1024, any case).  0, or -1 when the text is not a size.
 */
int	units_parse_size(const char *, uint64_t *bytes);
/*
 * "500ms", "10s", "1.5s", "2m", "1h", "1d", "1000" (ms) → milliseconds,
 * rounded.  0, or -1 when the text is not a duration.
 */
int	units_parse_duration(const char *, uint64_t *ms);

#endif
