#include "event/rfc3339.h"

namespace tandem::event_internal {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month, day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `*pos`; -1 when they are not all digits.
int ReadDigits(std::string_view s, size_t* pos, size_t n) {
  if (*pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  return v;
}

bool Expect(std::string_view s, size_t* pos, char a, char b = '\0') {
  if (*pos >= s.size() || (s[*pos] != a && (b == '\0' || s[*pos] != b))) return false;
  ++*pos;
  return true;
}

// Parses ".digits" at `*pos` (optional) into microseconds.
bool ReadFraction(std::string_view s, size_t* pos, int64_t* micros) {
  *micros = 0;
  if (*pos >= s.size() || s[*pos] != '.') return true;
  size_t start = ++*pos;
  int64_t scale = 100'000;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
    *micros += (s[*pos] - '0') * scale;
    scale /= 10;
    ++*pos;
  }
  return *pos > start;
}

// Parses "Z" or "+HH:MM"/"-HH:MM" at `*pos` into an offset in seconds.
bool ReadOffset(std::string_view s, size_t* pos, int64_t* offset_s) {
  *offset_s = 0;
  if (Expect(s, pos, 'Z', 'z')) return true;
  if (*pos >= s.size() || (s[*pos] != '+' && s[*pos] != '-')) return false;
  int sign = s[(*pos)++] == '-' ? -1 : 1;
  int hh = ReadDigits(s, pos, 2);
  if (hh < 0 || hh > 23 || !Expect(s, pos, ':')) return false;
  int mm = ReadDigits(s, pos, 2);
  if (mm < 0 || mm > 59) return false;
  *offset_s = sign * (hh * 3600 + mm * 60);
  return true;
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  size_t pos = 0;
  int year = ReadDigits(s, &pos, 4);
  if (year < 1 || !Expect(s, &pos, '-')) return std::nullopt;
  int month = ReadDigits(s, &pos, 2);
  if (month < 1 || month > 12 || !Expect(s, &pos, '-')) return std::nullopt;
  int day = ReadDigits(s, &pos, 2);
  if (day < 1 || unsigned(day) > DaysInMonth(year, month)) return std::nullopt;
  if (!Expect(s, &pos, 'T', 't')) return std::nullopt;
  int hour = ReadDigits(s, &pos, 2);
  if (hour < 0 || hour > 23 || !Expect(s, &pos, ':')) return std::nullopt;
  int minute = ReadDigits(s, &pos, 2);
  if (minute < 0 || minute > 59 || !Expect(s, &pos, ':')) return std::nullopt;
  int second = ReadDigits(s, &pos, 2);
  if (second < 0 || second > 60) return std::nullopt;
  int64_t fraction_us = 0, offset_s = 0;
  if (!ReadFraction(s, &pos, &fraction_us) || !ReadOffset(s, &pos, &offset_s)) {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t seconds = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 +
                    second - offset_s;
  return seconds * kMicrosPerSecond + fraction_us;
}

std::string FormatRfc3339Utc(int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t frac = micros % kMicrosPerSecond;
  if (frac < 0) {
    frac += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / kSecondsPerDay;
  int64_t sod = seconds % kSecondsPerDay;
  if (sod < 0) {
    sod += kSecondsPerDay;
    --days;
  }
  Civil c = CivilFromDays(days);
  // Years outside 0000..9999 cannot come from ParseRfc3339; clamp the digits.
  std::string out = "0000-00-00T00:00:00.000000Z";
  auto put = [&out](size_t at, size_t width, int64_t v) {
    for (size_t i = width; i-- > 0; v /= 10) out[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, 4, c.year < 0 ? 0 : c.year % 10000);
  put(5, 2, c.month);
  put(8, 2, c.day);
  put(11, 2, sod / 3600);
  put(14, 2, sod / 60 % 60);
  put(17, 2, sod % 60);
  put(20, 6, frac);
  return out;
}

}  // namespace tandem::event_internal
