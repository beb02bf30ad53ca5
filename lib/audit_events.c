/*  audit_events: event names and reason tokens in plain words; see
    audit_events.h. */
#include "audit_events.h"

#include <stdio.h>
#include <string.h>

static const audit_event_t s_events[] = {
    {"submitted", "signaal ontvangen door het uitwisselsysteem",
     "signal received by the exchange system"},
    {"accepted", "doorgegeven volgens een afspraak", "passed on under an agreement"},
    {"denied", "geweigerd, niet verstuurd", "refused, not sent"},
    {"delivered", "afgeleverd bij de ontvanger", "delivered to the recipient"},
    {"acked", "ontvangen en opgeslagen door de ontvanger", "received and stored by the recipient"},
    {"rejected_by_recipient", "geweigerd door de ontvanger", "refused by the recipient"},
    {"withdrawn", "ingetrokken door de afzender", "withdrawn by the sender"},
    {"expired", "verlopen zonder aflevering", "expired undelivered"},
    {"alert", "melding: meerdere partners deden een signaal", "alert: several partners signalled"},
    {"alert_handled", "melding afgehandeld", "alert handled"},
    /* Case conferences (issue 15): metadata of each step, never content. */
    {"case_opened", "casus geopend voor een casuïstiekoverleg",
     "case opened for a case conference"},
    {"case_invited", "partner uitgenodigd voor de casus", "partner invited to the case"},
    {"case_joined", "partner neemt deel aan de casus", "partner takes part in the case"},
    {"case_declined", "partner nam de uitnodiging voor de casus niet aan",
     "partner declined the invitation to the case"},
    {"case_participant_removed", "partner uit de casus verwijderd",
     "partner removed from the case"},
    {"case_scheduled", "casus ingepland voor een overleg", "case scheduled for a meeting"},
    {"case_shared", "informatie gedeeld in de casus", "information shared in the case"},
    {"case_plan", "actie uit het plan van aanpak vastgelegd, met eigenaar en streefdatum",
     "action of the plan recorded, with its owner and due date"},
    {"case_action", "actie uit het plan van aanpak afgerond", "action of the plan done"},
    {"case_closed", "casus afgesloten", "case closed"},
    {"case_refused", "onleesbaar verzoek over een casus geweigerd",
     "unreadable request about a case refused"},
    {"auth_failed", "mislukte aanmelding", "failed sign-in"},
    {"partner_added", "partner toegevoegd", "partner added"},
    {"partner_revoked", "partner ingetrokken", "partner revoked"},
    {"partner_expired", "verbinding verbroken: certificaat van de partner verlopen",
     "disconnected: the partner's certificate expired"},
    {"agreements_loaded", "nieuwe versie van de afspraken in werking",
     "new version of the agreements in force"},
    {"agreements_refused", "nieuwe versie van de afspraken geweigerd; de oude blijft in werking",
     "new version of the agreements refused; the old one stays in force"},
    {"recovered", "hersteld na een onderbreking", "recovered after an interruption"},
    {"purged", "opgeschoond na de bewaartermijn", "purged after the retention period"},
    /* The pseudonym service's own log (hartslag-pseudonymd, issue 17). */
    {"pseudonym_evaluated", "pseudoniemen berekend (blind) voor een partner of functionaris",
     "pseudonyms computed (blinded) for a partner or officer"},
    {"pseudonym_refused", "verzoek om pseudoniemen geweigerd", "pseudonym request refused"},
    {"pseudonym_limit_alert", "limiet overschreden; de regievoerder is gewaarschuwd",
     "limit exceeded; the coordinator was warned"},
    {"pseudonym_limit_alert_acked", "waarschuwing over de limiet ontvangen door de regievoerder",
     "limit warning received by the coordinator"},
};

#define EVENT_COUNT (sizeof s_events / sizeof *s_events)

const audit_event_t *audit_event_find(const char *name)
{
    for (size_t i = 0; name && i < EVENT_COUNT; i++)
        if (strcmp(s_events[i].name, name) == 0)
            return &s_events[i];
    return NULL;
}

size_t audit_event_count(void)
{
    return EVENT_COUNT;
}

const audit_event_t *audit_event_at(size_t index)
{
    return index < EVENT_COUNT ? &s_events[index] : NULL;
}

const char *audit_event_describe(const char *name, bool en)
{
    const audit_event_t *event = audit_event_find(name);
    if (!event)
        return name ? name : "?";
    return en ? event->en : event->nl;
}

/* Reason tokens (after any "agreement:" prefix). "%s" takes the part after
   the token's colon (a field name, an org). */
typedef struct {
    const char *token; /* as recorded */
    bool has_arg;      /* "token:arg" */
    const char *nl;    /* Dutch */
    const char *en;    /* English */
} reason_t;

static const reason_t s_reasons[] = {
    {"allowed", false,
     "deze ontvanger was toegestaan, maar een andere ontvanger van hetzelfde "
     "signaal niet; daarom is het signaal aan niemand verstuurd",
     "this recipient was allowed, but another recipient of the same signal was not, so the "
     "signal was sent to no one"},
    {"no_agreement", false, "er is geen afspraak tussen afzender en ontvanger",
     "there is no agreement between sender and recipient"},
    {"type_not_allowed", false, "dit soort signaal valt buiten de afspraak",
     "this kind of signal is outside the agreement"},
    {"purpose_mismatch", false, "het doel past niet bij de afspraak",
     "the purpose does not match the agreement"},
    {"not_yet_valid", false, "de afspraak was nog niet in werking",
     "the agreement was not yet in force"},
    {"expired", false, "de afspraak was verlopen", "the agreement had expired"},
    {"field_not_allowed", true, "het gegevensveld '%s' valt buiten de afspraak",
     "the data field '%s' is outside the agreement"},
    {"unknown_partner", false, "afzender of ontvanger is geen partner",
     "sender or recipient is not a partner"},
    {"role_not_allowed", false, "afzender of ontvanger mag dit niet (rol)",
     "sender or recipient may not do this (role)"},
    {"unjustified", false, "onterecht verstuurd", "sent without justification"},
    {"resolved", false, "de zorg is opgelost", "the concern was resolved"},
    {"withdrawn", false, "ingetrokken", "withdrawn"},
    {"max_queue_days", false, "niet op tijd afgeleverd", "not delivered in time"},
    {"retention", false, "bewaartermijn verstreken", "retention period over"},
    {"unclean_shutdown", false, "onverwacht gestopt", "stopped unexpectedly"},
    {"storage_unavailable", false, "opslag niet beschikbaar", "storage unavailable"},
    {"key_not_in_partner_table", false, "onbekende sleutel", "unknown key"},
    {"unknown_key", false, "onbekende sleutel", "unknown key"},
    {"org_mismatch", false, "afzender klopt niet met de sleutel", "sender does not match the key"},
    {"sender_mismatch", false, "afzender klopt niet met de sleutel",
     "sender does not match the key"},
    {"lapsed", false, "het signaal was al vervallen", "the signal had already lapsed"},
    {"backdated", false, "het signaal was te lang geleden gemaakt (teruggedateerd)",
     "the signal was made too long ago (backdated)"},
    {"certificate_not_valid", false, "het certificaat van de partner is niet (meer) geldig",
     "the partner's certificate is not (or no longer) valid"},
    {"lower_version", false, "een lagere versie dan die in werking",
     "a lower version than the one in force"},
    {"same_version_other_bytes", false,
     "hetzelfde versienummer als die in werking, met een andere inhoud",
     "the same version number as the one in force, with other content"},
    {"joined", true, "%s deed ook een signaal", "%s also signalled"},
    {"lead", true, "%s kreeg de regie", "%s was given the lead"},
};

/* Copies `text` keeping [a-z0-9_:-] and turning anything else into '?'. */
static void s_token_copy(const char *text, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 1 < len; p++) {
        char c = *p;
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-';
        out[o++] = ok ? c : '?';
    }
    out[o] = '\0';
}

bool audit_reason_is_other_recipient(const char *reason)
{
    return reason && strcmp(reason, "agreement:allowed") == 0;
}

void audit_reason_describe(const char *reason, bool en, char *out, size_t len)
{
    if (len == 0)
        return;
    out[0] = '\0';
    if (!reason || !reason[0])
        return;
    const char *token = reason;
    if (strncmp(token, "agreement:", 10) == 0)
        token += 10;
    else if (strncmp(token, "bad_header:", 11) == 0)
        token += 11;
    for (size_t i = 0; i < sizeof s_reasons / sizeof *s_reasons; i++) {
        const reason_t *r = &s_reasons[i];
        size_t n = strlen(r->token);
        if (strncmp(token, r->token, n) != 0)
            continue;
        if (!r->has_arg && token[n] == '\0') {
            snprintf(out, len, "%s", en ? r->en : r->nl);
            return;
        }
        if (r->has_arg && token[n] == ':') {
            char arg[80];
            s_token_copy(token + n + 1, arg, sizeof arg);
            /* The format is one of the constants above, with one %s. */
            const char *format = en ? r->en : r->nl;
            const char *at = strstr(format, "%s");
            snprintf(out, len, "%.*s%s%s", (int)(at - format), format, arg, at + 2);
            return;
        }
    }
    s_token_copy(reason, out, len);
}
