package componentcheck

import (
	"fmt"
	"strings"
	"unicode"
)

// builtinProfiles expands a builtinAuthenticationProfiles reference of a metadata.yaml.
//
// components-contrib defines these sets in .build-tools/builtin-authentication-profiles.yaml, which the
// module zip does not contain, so they are restated here as Dapr 1.14 documents and implements them:
//
//   - "aws": docs.dapr.io, "Authenticating to AWS" (v1.13/v1.14): region, endpoint, accessKey, secretKey and
//     sessionToken, all optional because the AWS SDK's default credential chain (IRSA, instance profiles,
//     environment) applies when no key is given; components-contrib v1.14 common/authentication/aws
//     GetClient(accessKey, secretKey, sessionToken, region, endpoint) is the code behind it. The "assume
//     role" and "IAM Roles Anywhere" profiles came with later releases.
//   - "azuread": docs.dapr.io, "Authenticating to Azure", and the profile set components-contrib's
//     .build-tools expands (managed identity, client credentials, client certificate); workload identity is
//     the managed-identity variant on Kubernetes (common/authentication/azure/auth.go,
//     addWorkloadIdentityProvider, configured from the pod's environment).
//   - "gcp": the service-account key profile of .build-tools/builtin-authentication-profiles.yaml
//     (privateKeyID, privateKey, type, projectID, clientEmail, clientID, authURI, tokenURI,
//     authProviderX509CertURL, clientX509CertURL), plus identityProjectID from the GCP Pub/Sub reference.
//     Application Default Credentials (GKE workload identity) are offered only to the components whose
//     1.14 code falls back to them; see gcpImplicitCredentials.
func builtinProfiles(name, componentType string) ([]Profile, error) {
	switch name {
	case "aws":
		return []Profile{
			{Title: "AWS: access key and secret key", Builtin: name, Fields: []Field{
				{Name: "region"},
				{Name: "endpoint"},
				{Name: "accessKey", Required: true, Sensitive: true},
				{Name: "secretKey", Required: true, Sensitive: true},
				{Name: "sessionToken", Sensitive: true},
			}},
			{Title: "AWS: default credential chain (IRSA, instance profile, environment)", Builtin: name, Identity: true, Fields: []Field{
				{Name: "region"},
				{Name: "endpoint"},
			}},
		}, nil
	case "azuread":
		environment := Field{Name: "azureEnvironment", Default: "AzurePublicCloud"}
		return []Profile{
			{Title: "Azure AD: managed identity or workload identity", Builtin: name, Identity: true, Fields: []Field{
				{Name: "azureClientId"},
				{Name: "azureTenantId"},
				environment,
			}},
			{Title: "Azure AD: client credentials", Builtin: name, Fields: []Field{
				{Name: "azureTenantId", Required: true},
				{Name: "azureClientId", Required: true},
				{Name: "azureClientSecret", Required: true, Sensitive: true},
				environment,
			}},
			// "One of azureCertificate and azureCertificateFile is required": neither is marked required.
			{Title: "Azure AD: client certificate", Builtin: name, Fields: []Field{
				{Name: "azureTenantId", Required: true},
				{Name: "azureClientId", Required: true},
				{Name: "azureCertificate", Sensitive: true},
				{Name: "azureCertificateFile"},
				{Name: "azureCertificatePassword", Sensitive: true},
				environment,
			}},
		}, nil
	case "gcp":
		profiles := []Profile{
			{Title: "GCP: service account key", Builtin: name, Fields: []Field{
				{Name: "type"},
				{Name: "projectID", Required: true},
				{Name: "identityProjectID"},
				{Name: "privateKeyID", Required: true, Sensitive: true},
				{Name: "privateKey", Required: true, Sensitive: true},
				{Name: "clientEmail", Required: true},
				{Name: "clientID", Required: true},
				{Name: "authURI"},
				{Name: "tokenURI"},
				{Name: "authProviderX509CertURL"},
				{Name: "clientX509CertURL"},
			}},
		}
		if gcpImplicitCredentials[componentType] {
			profiles = append(profiles, Profile{
				Title: "GCP: application default credentials (GKE workload identity)", Builtin: name, Identity: true,
				Fields: []Field{{Name: "projectID", Required: true}},
			})
		}
		return profiles, nil
	default:
		return nil, fmt.Errorf("unknown built-in authentication profile %q", name)
	}
}

// gcpImplicitCredentials lists the GCP components that, in components-contrib v1.14, fall back to
// Application Default Credentials when no service-account key is configured (pubsub/gcp/pubsub/pubsub.go:
// "Using implicit credentials for GCP"). bindings.gcp.bucket and secretstores.gcp.secretmanager always build
// their client from the key in their metadata (option.WithCredentialsJSON), and the secret manager rejects
// a component without type, project id, private key and client e-mail; workload identity for those two
// came with components-contrib PR #3711, after Dapr 1.14.
var gcpImplicitCredentials = map[string]bool{
	"pubsub.gcp.pubsub":   true,
	"state.gcp.firestore": true, // no metadata.yaml; listed for completeness (state/gcp/firestore/firestore.go)
}

// daprLevelKeys are metadata keys daprd itself reads from every component of a kind, beyond what the
// component declares. Each is read by dapr@v1.14.0 at:
//
//   - pubsub: consumerID (pkg/runtime/processor/pubsub/pubsub.go), publishingScopes, subscriptionScopes,
//     allowedTopics, protectedTopics (pkg/scopes/scopes.go);
//   - state: keyPrefix (pkg/components/state/state_config.go), actorStateStore
//     (pkg/runtime/processor/state/state.go), outboxPublishPubsub, outboxPublishTopic, outboxPubsub,
//     outboxDiscardWhenMissingState (pkg/runtime/pubsub/outbox.go);
//   - bindings: direction and route (pkg/runtime/processor/binding/binding.go).
//
// The Dapr documentation lists the same keys on the pub/sub scoping, state store and bindings pages; a test
// checks that each still appears in those source files.
var daprLevelKeys = map[string][]string{
	"pubsub":   {"consumerID", "publishingScopes", "subscriptionScopes", "allowedTopics", "protectedTopics"},
	"state":    {"keyPrefix", "actorStateStore", "outboxPublishPubsub", "outboxPublishTopic", "outboxPubsub", "outboxDiscardWhenMissingState"},
	"bindings": {"direction", "route"},
}

// kindOf returns the building block of a component type: "pubsub" for "pubsub.aws.snssqs".
func kindOf(typ string) string {
	kind, _, _ := strings.Cut(typ, ".")
	return kind
}

// credentialName reports whether a metadata key's name says it holds a credential, for definitions that
// carry no sensitive flag (or forgot one). It is deliberately narrower than "contains key": partitionKey,
// orderingKey or keyPrefix are not secrets, and tokenURI, securityTokenHeader or secretsFile name where a
// secret is, not the secret.
func credentialName(name string) bool {
	words := camelWords(name)
	if len(words) == 0 {
		return false
	}
	lower := strings.ToLower(name)
	if strings.Contains(lower, "password") || strings.Contains(lower, "passphrase") || strings.Contains(lower, "connectionstring") {
		return true
	}
	last := words[len(words)-1]
	switch last {
	case "secret", "token", "credentials":
		return true
	case "key":
		if len(words) == 1 {
			return false
		}
		switch words[len(words)-2] {
		case "access", "secret", "api", "private", "master", "account", "client", "shared", "signing",
			"encryption", "auth", "primary", "secondary", "sas", "storage", "subscription", "app":
			return true
		}
	}
	return false
}

// camelWords splits a key into lower-case words: "MTLSClientKey" → mtls client key, "private_key_id" →
// private key id.
func camelWords(s string) []string {
	var (
		words []string
		cur   []rune
	)
	runes := []rune(s)
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && len(cur) > 0:
			prevLower := unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1])
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if prevLower || (unicode.IsUpper(runes[i-1]) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}
