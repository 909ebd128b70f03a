// Dedup finds exact and near duplicates in Korean and English and leaves unrelated documents
// alone; PII finds each type, and leaves Luhn-invalid cards and impossible RRN dates as they are.
#include <QtTest>

#include "data/dedup.h"
#include "data/pii.h"

using namespace kanana::data;

namespace {
const std::string kEn1 =
    "The committee met on Tuesday to review the annual budget for the city library and decided to extend "
    "the opening hours on weekends, hire two more librarians, and buy new books for the children's section. "
    "The mayor said the new hours would start in March, after the council approves the plan at its next meeting, "
    "and that volunteers from the neighbourhood would help run the reading programme for older residents.";
const std::string kEn2 =  // kEn1 with one word changed: a near duplicate
    "The committee met on Wednesday to review the annual budget for the city library and decided to extend "
    "the opening hours on weekends, hire two more librarians, and buy new books for the children's section. "
    "The mayor said the new hours would start in March, after the council approves the plan at its next meeting, "
    "and that volunteers from the neighbourhood would help run the reading programme for older residents.";
const std::string kEnOther =
    "Mountain weather changes quickly: carry a waterproof jacket, check the forecast before you leave, "
    "and turn back early if clouds gather around the summit in the afternoon.";
const std::string kKo1 =
    "위원회는 화요일에 모여 시립 도서관의 연간 예산을 검토하였고, 주말 개관 시간을 늘리고 사서 두 명을 더 채용하며 "
    "어린이 열람실에 새 책을 구입하기로 결정하였다.";
const std::string kKo2 =  // one eojeol changed
    "위원회는 수요일에 모여 시립 도서관의 연간 예산을 검토하였고, 주말 개관 시간을 늘리고 사서 두 명을 더 채용하며 "
    "어린이 열람실에 새 책을 구입하기로 결정하였다.";
const std::string kKoOther = "산의 날씨는 빠르게 변하므로 방수 재킷을 챙기고, 출발 전에 일기 예보를 확인하며, 오후에 구름이 끼면 일찍 내려와야 한다.";

std::vector<DedupMatch> run(const std::vector<std::string>& docs, DedupIndex* index, const DedupOptions& o) {
  std::vector<DedupMatch> out;
  for (const auto& d : docs) out.push_back(index->add(fingerprint(d, o)));
  return out;
}
}  // namespace

class TestDataDedupPii : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void normalizationForExactDedup() {
    QCOMPARE(normalize_for_dedup("  Hello,   WORLD!\n"), std::string("hello world"));
    QCOMPARE(normalize_for_dedup("ＡＢＣ ａｂｃ"), std::string("abc abc"));  // full-width
    // Conjoining jamo ᄒ ᅡ ᆫ (U+1112 U+1161 U+11AB) compose to 한 (U+D55C), as NFC does.
    QCOMPARE(normalize_for_dedup("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xEA\xB8\x80"), std::string("한글"));
  }

  void exactAndNearDuplicatesEnglishAndKorean() {
    DedupOptions o;
    DedupIndex index(o);
    const auto m = run({kEn1, kKo1, kEnOther, "  the COMMITTEE met on tuesday to review the annual budget for the city library and decided to extend "
                        "the opening hours on weekends; hire two more librarians and buy new books for the children's section. "
                        "The mayor said the new hours would start in March after the council approves the plan at its next meeting, "
                        "and that volunteers from the neighbourhood would help run the reading programme for older residents!",
                        kEn2, kKo2, kKoOther, kKo1},
                       &index, o);
    QCOMPARE(m[0].kind, DupKind::kNone);
    QCOMPARE(m[1].kind, DupKind::kNone);
    QCOMPARE(m[2].kind, DupKind::kNone);
    QCOMPARE(m[3].kind, DupKind::kExact);   // same text after normalization
    QCOMPARE(m[3].duplicate_of, uint64_t(0));
    QCOMPARE(m[4].kind, DupKind::kNear);
    QCOMPARE(m[4].duplicate_of, uint64_t(0));
    QCOMPARE(m[5].kind, DupKind::kNear);    // Korean: character shingles
    QCOMPARE(m[5].duplicate_of, uint64_t(1));
    QCOMPARE(m[6].kind, DupKind::kNone);
    QCOMPARE(m[7].kind, DupKind::kExact);
    QCOMPARE(index.cluster_of(4), uint64_t(0));
    QCOMPARE(index.cluster_of(5), uint64_t(1));
    QCOMPARE(index.cluster_of(2), uint64_t(2));
    QCOMPARE(index.cluster_size(0), uint64_t(3));
    const auto st = index.stats();
    QCOMPARE(st.clusters, uint64_t(4));
    QCOMPARE(st.exact_duplicates, uint64_t(2));
    QCOMPARE(st.near_duplicates, uint64_t(2));
    QVERIFY(fingerprint(kKo1, o).used_chars);
    QVERIFY(!fingerprint(kEn1, o).used_chars);
    QVERIFY(minhash_similarity(fingerprint(kEn1, o).minhash, fingerprint(kEn2, o).minhash) > 0.5);
    QVERIFY(minhash_similarity(fingerprint(kEn1, o).minhash, fingerprint(kEnOther, o).minhash) < 0.1);
  }

  void verifyAndExactOnly() {
    DedupOptions o;
    o.near = false;
    DedupIndex index(o);
    const auto m = run({kEn1, kEn2}, &index, o);
    QCOMPARE(m[1].kind, DupKind::kNone);
    DedupOptions v;
    v.verify_jaccard = 0.99;  // near duplicates are not 99% similar
    DedupIndex strict(v);
    QCOMPARE(run({kEn1, kEn2}, &strict, v)[1].kind, DupKind::kNone);
  }

  void piiEachType() {
    auto r = anonymize_pii("메일 kim.minsu+news@example.co.kr 로 연락. 전화 010-1234-5678, 서울 02-123-4567, "
                           "국제 +82 10 9876 5432 또는 +1 415 555 2671. 주민번호 900101-1234567. "
                           "카드 4111 1111 1111 1111 와 5500-0000-0000-0004. 서버 192.168.0.1 과 2001:db8::8a2e:370:7334.");
    QCOMPARE(r.text, std::string("메일 <EMAIL> 로 연락. 전화 <PHONE>, 서울 <PHONE>, 국제 <PHONE> 또는 <PHONE>. 주민번호 <KR_RRN>. "
                                 "카드 <CARD> 와 <CARD>. 서버 <IP> 과 <IP>."));
    QCOMPARE(r.counts[static_cast<int>(PiiType::kEmail)], 1);
    QCOMPARE(r.counts[static_cast<int>(PiiType::kPhone)], 4);
    QCOMPARE(r.counts[static_cast<int>(PiiType::kKrRrn)], 1);
    QCOMPARE(r.counts[static_cast<int>(PiiType::kCard)], 2);
    QCOMPARE(r.counts[static_cast<int>(PiiType::kIp)], 2);
    // Spans are byte offsets into the input.
    const std::string in = "mail a@b.com now";
    auto spans = find_pii(in);
    QCOMPARE(spans.size(), size_t(1));
    QCOMPARE(in.substr(spans[0].begin, spans[0].end - spans[0].begin), std::string("a@b.com"));
  }

  void piiRejectsLookalikes() {
    // Luhn-invalid card number, impossible RRN dates (Feb 30, month 13), gender digit 9,
    // a version number, a plain year range, a non-Korean 0-prefixed number, an invalid IP.
    const std::string text = "카드 4111 1111 1111 1112, 번호 900230-1234567, 991301-2345678, 900101-9234567, "
                             "version 1.2.3.4.5, 1999-2004, 300.1.2.3, 12:30:45, std::vector, section 6.3.4.6, 1954::, "
                             "list 133 160 8232 8233";
    auto r = anonymize_pii(text);
    QCOMPARE(r.text, text);
    QVERIFY(r.spans.empty());
    QVERIFY(luhn_valid("4111111111111111"));
    QVERIFY(!luhn_valid("4111111111111112"));
    QVERIFY(rrn_date_valid("000229", '3'));   // 2000 is a leap year
    QVERIFY(!rrn_date_valid("010229", '3'));  // 2001 is not
    // Checksum: 880101-123456? → weights 2..9,2..5 give 146, (11 - 146 % 11) % 10 = 8.
    QVERIFY(rrn_checksum_valid("8801011234568"));
    QVERIFY(!rrn_checksum_valid("8801011234565"));
    PiiOptions strict;
    strict.rrn_checksum = true;
    QCOMPARE(anonymize_pii("880101-1234568", strict).text, std::string("<KR_RRN>"));
    QCOMPARE(anonymize_pii("880101-1234565", strict).text, std::string("880101-1234565"));
    PiiOptions no_email;
    no_email.email = false;
    QCOMPARE(anonymize_pii("a@b.com", no_email).text, std::string("a@b.com"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataDedupPii)
#include "test_data_dedup_pii.moc"
