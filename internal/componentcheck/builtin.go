package componentcheck

import (
	"fmt"
	"strings"
	"unicode"
)

// builtinProfiles expands a builtinAuthenticationProfiles reference of a metadata.yaml for componentType.
//
// components-contrib defines these sets in .build-tools/builtin-authentication-profiles.yaml, which the
// module zip does not contain, so they are restated here from that file at components-contrib v1.18.3 (the
// version dapr v1.18.2 pins), corrected where the code it stands for does otherwise:
//
//   - "aws": the file's four profiles. "Access Key ID and Secret Access Key" lists accessKey and secretKey
//     as optional, but common/aws/auth/auth_static.go (newAuthStatic) uses them only together, so here they
//     are required and the no-key case is its own profile: without a key, role or trust anchor,
//     common/aws/config.go NewConfig loads the AWS SDK's default configuration, i.e. the default credential
//     chain (IRSA, instance profile, environment), which the file calls "Credentials from Environment
//     Variables". awsRegion is the deprecated alias of region (auth.Options, mapstructurealiases). "Assume
//     IAM Role" (read by Kafka and PostgreSQL: common/component/kafka/kafka.go,
//     common/authentication/postgresql/metadata.go) takes effect only with assumeRoleArn, and "IAM Roles
//     Anywhere" (common/aws/auth/auth_x509.go) needs all three ARNs; both run on an ambient identity.
//   - "azuread": the file's managed-identity, client-credentials and client-certificate profiles; workload
//     identity is the managed-identity variant on Kubernetes (common/authentication/azure/auth.go,
//     addWorkloadIdentityProvider, configured from the pod's environment), which also takes azureTenantId.
//   - "gcp": the file's service-account key profile (privateKeyID, privateKey, type, projectID,
//     clientEmail, clientID, authURI, tokenURI, authProviderX509CertURL, clientX509CertURL), plus
//     identityProjectID, which pubsub/gcp/pubsub/metadata.go reads for it. The file has no profile for
//     Application Default Credentials (GKE workload identity); the components whose code falls back to them
//     get one, see gcpImplicitCredentials.
func builtinProfiles(name, componentType string) ([]Profile, error) {
	switch name {
	case "aws":
		return []Profile{
			{Title: "AWS: access key and secret key", Builtin: name, Fields: []Field{
				{Name: "region"},
				{Name: "awsRegion"},
				{Name: "endpoint"},
				{Name: "accessKey", Required: true, Sensitive: true},
				{Name: "secretKey", Required: true, Sensitive: true},
				{Name: "sessionToken", Sensitive: true},
			}},
			{Title: "AWS: default credential chain (IRSA, instance profile, environment)", Builtin: name, Identity: true, Fields: []Field{
				{Name: "region"},
				{Name: "awsRegion"},
				{Name: "endpoint"},
			}},
			{Title: "AWS: assume IAM role", Builtin: name, Identity: true, Fields: []Field{
				{Name: "region", Required: true},
				{Name: "assumeRoleArn", Required: true},
				{Name: "sessionName", Default: "DaprDefaultSession"},
			}},
			{Title: "AWS: IAM Roles Anywhere", Builtin: name, Identity: true, Fields: []Field{
				{Name: "trustAnchorArn", Required: true},
				{Name: "trustProfileArn", Required: true},
				{Name: "assumeRoleArn", Required: true},
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

// gcpImplicitCredentials lists the components importing the "gcp" profile set whose components-contrib
// v1.18.3 code falls back to Application Default Credentials (GKE workload identity) when no privateKeyID is
// configured: each creates its client without options then. A component importing the set that is not
// listed is offered the key profile only, and a test fails until it has been read and listed here.
var gcpImplicitCredentials = map[string]bool{
	"pubsub.gcp.pubsub":              true, // pubsub/gcp/pubsub/pubsub.go: "Using implicit credentials for GCP"
	"bindings.gcp.pubsub":            true, // bindings/gcp/pubsub/pubsub.go: pubsub.NewClient(ctx, projectID)
	"bindings.gcp.bucket":            true, // bindings/gcp/bucket/bucket.go getClient: "Implicit authentication, using GCP Application Default Credentials"
	"secretstores.gcp.secretmanager": true, // secretstores/gcp/secretmanager/secretmanager.go getClient: the same
}

// daprLevelKeys are metadata keys daprd itself reads from every component of a kind, beyond what the
// component declares. Each is read by dapr@v1.18.2 at:
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
