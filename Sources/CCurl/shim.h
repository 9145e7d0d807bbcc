#include <curl/curl.h>

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot call: one typed
   wrapper per kind of argument. */
typedef size_t (*tokentop_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode tokentop_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tokentop_curl_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tokentop_curl_setopt_callback(CURL *handle, CURLoption option,
                                                     tokentop_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
typedef int (*tokentop_curl_prereq_callback)(void *context, char *primary_ip, char *local_ip, int primary_port,
                                             int local_port);
static inline CURLcode tokentop_curl_setopt_prereq(CURL *handle, tokentop_curl_prereq_callback value) {
    return curl_easy_setopt(handle, CURLOPT_PREREQFUNCTION, value);
}
static inline CURLcode tokentop_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode tokentop_curl_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
/* The open-socket callback sees the address as an opaque pointer, for `tokentop_curl_socket_wanted`. */
typedef curl_socket_t (*tokentop_curl_open_socket_callback)(void *context, int purpose, void *address);
static inline CURLcode tokentop_curl_setopt_open_socket(CURL *handle, tokentop_curl_open_socket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, (curl_opensocket_callback)value);
}
/* The family, type and protocol of the socket libcurl asks the open-socket callback for. */
static inline void tokentop_curl_socket_wanted(void *address, int *family, int *type, int *protocol) {
    struct curl_sockaddr *wanted = address;
    *family = wanted->family;
    *type = wanted->socktype;
    *protocol = wanted->protocol;
}
typedef int (*tokentop_curl_close_socket_callback)(void *context, curl_socket_t socket);
static inline CURLcode tokentop_curl_setopt_close_socket(CURL *handle, tokentop_curl_close_socket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_CLOSESOCKETFUNCTION, value);
}

static inline CURLMcode tokentop_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
static inline long tokentop_curl_global_default(void) { return CURL_GLOBAL_DEFAULT; }
