#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>

/* OpenSSL's typed stacks are macros, which Swift cannot call: the few calls on a stack of X509_INFO (what
   PEM_X509_INFO_read_bio reads from a certificate bundle) as functions. */
static inline int tokentop_x509_info_count(const STACK_OF(X509_INFO) *infos) { return sk_X509_INFO_num(infos); }
static inline int tokentop_x509_info_has_certificate(const STACK_OF(X509_INFO) *infos, int index) {
    return sk_X509_INFO_value(infos, index)->x509 != NULL;
}
/* Whether the certificate at `index` is past its notAfter time now. */
static inline int tokentop_x509_info_has_expired(const STACK_OF(X509_INFO) *infos, int index) {
    X509 *certificate = sk_X509_INFO_value(infos, index)->x509;
    return certificate != NULL && X509_cmp_current_time(X509_get0_notAfter(certificate)) < 0;
}
/* Whether the certificate at `index` is not valid before a time still to come. */
static inline int tokentop_x509_info_is_not_yet_valid(const STACK_OF(X509_INFO) *infos, int index) {
    X509 *certificate = sk_X509_INFO_value(infos, index)->x509;
    return certificate != NULL && X509_cmp_current_time(X509_get0_notBefore(certificate)) > 0;
}
static inline void tokentop_free_x509_infos(STACK_OF(X509_INFO) *infos) {
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
}
